using Raft.Core.Messages;
using Raft.Core.Transport;

namespace Raft.Testing.Simulation;

/// <summary>One node's view of the <see cref="SimulatedNetwork"/>, one per incarnation of the node.</summary>
/// <remarks>
/// <see cref="Raft.Core.Runtime.ReadyProcessor"/> hands InstallSnapshot messages to <see cref="StreamSnapshot"/> (and
/// one that reaches <see cref="Send"/> anyway goes there too): it reads the node's newest durable snapshot and streams
/// it beside the message, and the node's engine is told how the transfer ended (<see cref="Raft.Core.Engine.RawNode.ReportSnapshot"/>).
/// </remarks>
internal sealed class SimulatedTransport : IRaftTransport
{
    private readonly SimulatedNetwork _network;
    private readonly SimNode _owner;
    private readonly int _incarnation;
    private bool _stopped;

    public SimulatedTransport(SimulatedNetwork network, SimNode owner)
    {
        _network = network;
        _owner = owner;
        _incarnation = owner.Incarnation;
    }

    public void Start(IRaftMessageHandler handler) => _network.Register(_owner.Index, handler);

    public Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(data);
        if (_stopped)
        {
            return Task.FromException(new InvalidOperationException($"{_owner.Id}'s transport is stopped."));
        }

        using var copy = new MemoryStream();
        data.CopyTo(copy);
        var completion = new TaskCompletionSource();
        _network.SendSnapshot(new SnapshotTransfer(message, copy.ToArray(), _incarnation, completion));
        return completion.Task;
    }

    public void Send(Message message)
    {
        // A crashed incarnation sends nothing more, even if a caller still holds the transport.
        if (_stopped)
        {
            return;
        }

        // Whatever it claims is on its disk by now (the check the end-to-end invariants make only after a crash).
        Invariants.SentMessageDurabilityInvariant.Check(message, _owner.HardState.State, _owner.Log);
        if (message.Type == MessageType.InstallSnapshot)
        {
            StreamSnapshot(message);
            return;
        }

        _network.Send(message);
    }

    /// <summary>Streams the node's newest durable snapshot with <paramref name="message"/>; the engine hears how it ended.</summary>
    public void StreamSnapshot(Message message)
    {
        if (!_stopped)
        {
            _network.SendSnapshot(_owner.PrepareSnapshotTransfer(message, _incarnation));
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopped = true;
        _network.Unregister(_owner.Index);
        return ValueTask.CompletedTask;
    }
}
