using Raft.Core.Messages;
using Raft.Core.Transport;

namespace Raft.Testing.Simulation;

/// <summary>
/// The network between simulated nodes: delays every message, and while faults are on drops, duplicates and reorders
/// them, and blocks links to make symmetric and one-way partitions.
/// </summary>
/// <remarks>
/// Ordinary messages on one link arrive in the order sent (as over one TCP connection); a reordered message takes an
/// independent, longer delay, so it may overtake or be overtaken. A partition is checked when a message is sent and
/// again when it would arrive, so messages in flight when a partition starts are lost too.
/// A snapshot travels as one stream beside the messages (<see cref="SendSnapshot"/>): it takes longer, is never
/// duplicated, and either arrives whole or breaks; either way the sender's transport learns how it ended.
/// </remarks>
internal sealed class SimulatedNetwork
{
    private readonly Simulator _sim;
    private readonly SimRandom _random;
    private readonly SimulationOptions _options;
    private readonly int _size;
    private readonly Dictionary<string, int> _indexOf = new(StringComparer.Ordinal);
    private readonly IRaftMessageHandler?[] _handlers;

    // _blocked[from, to]: messages from `from` to `to` are lost.
    private readonly bool[,] _blocked;

    // The arrival time of the last in-order message on each link, so later ones never overtake it.
    private readonly long[,] _lastArrival;

    public SimulatedNetwork(Simulator sim, SimRandom random, SimulationOptions options, IReadOnlyList<string> ids)
    {
        _sim = sim;
        _random = random;
        _options = options;
        _size = ids.Count;
        for (var i = 0; i < ids.Count; i++)
        {
            _indexOf.Add(ids[i], i);
        }

        _handlers = new IRaftMessageHandler?[_size];
        _blocked = new bool[_size, _size];
        _lastArrival = new long[_size, _size];
    }

    /// <summary>Whether drops, duplicates and reordering happen (the safety phase).</summary>
    public bool FaultsEnabled { get; set; } = true;

    /// <summary>Self-test hook: every message is lost.</summary>
    public bool DropEverything { get; set; }

    public long Sent { get; private set; }

    public long Delivered { get; private set; }

    public int SnapshotsSent { get; private set; }

    public int SnapshotsDelivered { get; private set; }

    public int IndexOf(string nodeId) => _indexOf[nodeId];

    public bool IsBlocked(int from, int to) => _blocked[from, to];

    public void Register(int node, IRaftMessageHandler handler) => _handlers[node] = handler;

    public void Unregister(int node) => _handlers[node] = null;

    public void Block(int from, int to) => _blocked[from, to] = from != to;

    public void HealAll() => Array.Clear(_blocked);

    public string DescribeBlocked()
    {
        var links = new List<string>();
        for (var from = 0; from < _size; from++)
        {
            for (var to = 0; to < _size; to++)
            {
                if (_blocked[from, to])
                {
                    links.Add($"n{from + 1}-x>n{to + 1}");
                }
            }
        }

        return links.Count == 0 ? "none" : string.Join(" ", links);
    }

    public void Send(Message message)
    {
        Sent++;
        var from = _indexOf[message.From];
        var to = _indexOf[message.To];
        if (DropEverything)
        {
            _sim.Trace(new Dropped(message, "network down"));
            return;
        }

        if (_blocked[from, to])
        {
            _sim.Trace(new Dropped(message, "partitioned"));
            MaybeReportUnreachable(from, message.To);
            return;
        }

        if (FaultsEnabled && _random.Chance(_options.DropRate))
        {
            _sim.Trace(new Dropped(message, "lost"));
            return;
        }

        ScheduleDelivery(from, to, message);
        if (FaultsEnabled && _random.Chance(_options.DuplicateRate))
        {
            _sim.Schedule(Latency() + _random.NextLong(0, _options.MaxReorderDelayMicros), new DeliverEvent(message));
        }
    }

    public void Deliver(Message message)
    {
        var from = _indexOf[message.From];
        var to = _indexOf[message.To];
        if (DropEverything || _blocked[from, to])
        {
            _sim.Trace(new Dropped(message, DropEverything ? "network down" : "partitioned in flight"));
            return;
        }

        var handler = _handlers[to];
        if (handler is null)
        {
            _sim.Trace(new Dropped(message, "receiver down"));
            MaybeReportUnreachable(from, message.To);
            return;
        }

        Delivered++;
        handler.Receive(message);
    }

    /// <summary>Starts streaming a snapshot; it arrives after the link latency plus the time to stream it, or breaks.</summary>
    public void SendSnapshot(SnapshotTransfer transfer)
    {
        Sent++;
        SnapshotsSent++;
        var from = _indexOf[transfer.Message.From];
        var to = _indexOf[transfer.Message.To];
        if (DropEverything || _blocked[from, to])
        {
            _sim.Trace(new Dropped(transfer.Message, DropEverything ? "network down" : "partitioned"));
            EndSnapshot(transfer, success: false);
            return;
        }

        _sim.Schedule(Latency() + _random.NextLong(0, _options.MaxSnapshotTransferMicros + 1), new SnapshotDeliverEvent(transfer));
    }

    public void DeliverSnapshot(SnapshotTransfer transfer)
    {
        var message = transfer.Message;
        var from = _indexOf[message.From];
        var to = _indexOf[message.To];
        var handler = _handlers[to];
        string? broken =
            DropEverything ? "network down"
            : _blocked[from, to] ? "partitioned in flight"
            : handler is null ? "receiver down"
            : FaultsEnabled && _random.Chance(_options.DropRate) ? "stream broken"
            : null;
        if (broken is not null)
        {
            _sim.Trace(new Dropped(message, broken));
            EndSnapshot(transfer, success: false);
            return;
        }

        // The receiver stores the data durably, then steps the message; it may crash on the way. A leader whose own
        // writes are in flight takes the stream only after them: the receiver completes the task then, and the
        // continuation runs inline (no thread pool), so the run stays deterministic.
        var received = handler!.ReceiveSnapshotAsync(message, new MemoryStream(transfer.Data, writable: false));
        if (received.IsCompleted)
        {
            EndReceivedSnapshot(transfer, received);
            return;
        }

        _ = received.ContinueWith(
            completed => EndReceivedSnapshot(transfer, completed),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void EndReceivedSnapshot(SnapshotTransfer transfer, Task received)
    {
        var stored = received.IsCompletedSuccessfully;
        if (stored)
        {
            Delivered++;
            SnapshotsDelivered++;
        }

        EndSnapshot(transfer, stored);
    }

    // The sender's transport learns the outcome after the receiver's acknowledgement (or the broken connection) reaches it.
    private void EndSnapshot(SnapshotTransfer transfer, bool success) => _sim.Schedule(Latency(), new SnapshotReportEvent(transfer, success));

    private void ScheduleDelivery(int from, int to, Message message)
    {
        var now = _sim.Now;
        if (FaultsEnabled && _random.Chance(_options.ReorderRate))
        {
            _sim.Schedule(Latency() + _random.NextLong(0, _options.MaxReorderDelayMicros), new DeliverEvent(message));
            return;
        }

        var arrival = Math.Max(now + Latency(), _lastArrival[from, to]);
        _lastArrival[from, to] = arrival;
        _sim.Schedule(arrival - now, new DeliverEvent(message));
    }

    // A real transport notices a dead connection now and then, and tells the sender; plain losses go unnoticed.
    private void MaybeReportUnreachable(int from, string to)
    {
        if (_random.Chance(0.25))
        {
            _sim.Schedule(Latency(), new UnreachableEvent(from, _sim.Node(from).Incarnation, to));
        }
    }

    private long Latency() => _random.NextLong(_options.MinLatencyMicros, _options.MaxLatencyMicros + 1);

    /// <summary>A trace line for a message the network lost.</summary>
    private sealed record Dropped(Message Message, string Reason)
    {
        public override string ToString() => $"drop ({Reason}) {Message}";
    }
}
