using Raft.Core.Messages;
using Raft.Core.Transport;

namespace Raft.Testing.Simulation;

/// <summary>One node's view of the <see cref="SimulatedNetwork"/>, one per incarnation of the node.</summary>
internal sealed class SimulatedTransport : IRaftTransport
{
    private readonly SimulatedNetwork _network;
    private readonly int _node;
    private bool _stopped;

    public SimulatedTransport(SimulatedNetwork network, int node)
    {
        _network = network;
        _node = node;
    }

    public void Start(IRaftMessageHandler handler) => _network.Register(_node, handler);

    public void Send(Message message)
    {
        // A crashed incarnation sends nothing more, even if a caller still holds the transport.
        if (!_stopped)
        {
            _network.Send(message);
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopped = true;
        _network.Unregister(_node);
        return ValueTask.CompletedTask;
    }
}
