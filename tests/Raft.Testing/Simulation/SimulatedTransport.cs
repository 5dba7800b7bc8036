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

    // The simulator does not compact logs yet, so no snapshot is ever sent; issue 5's simulator work replaces this.
    public Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The simulator does not transfer snapshots yet.");

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
