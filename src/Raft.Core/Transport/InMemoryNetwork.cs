using System.Collections.Concurrent;

namespace Raft.Core.Transport;

/// <summary>
/// A network of <see cref="InMemoryTransport"/>s inside one process, with partitions for tests: nodes created by
/// <see cref="CreateTransport"/> reach each other until <see cref="Disconnect"/>, <see cref="DisconnectOneWay"/> or
/// <see cref="Isolate"/> cut them, and <see cref="Heal"/> reconnects everything.
/// </summary>
/// <remarks>
/// Thread-safe. A partition takes effect for messages not yet delivered too: a message queued before a cut and
/// delivered after it is dropped, as a real network would lose it.
/// </remarks>
public sealed class InMemoryNetwork
{
    private readonly ConcurrentDictionary<string, InMemoryTransport> _nodes = new(StringComparer.Ordinal);
    private readonly Lock _partitionLock = new();

    // Replaced as a whole under _partitionLock, read without a lock on every send and delivery.
    private volatile Partition _partition = Partition.None;

    /// <summary>Creates a network whose links queue at most 4096 messages each.</summary>
    public InMemoryNetwork()
        : this(4096)
    {
    }

    /// <summary>Creates a network whose links queue at most <paramref name="perPeerQueueCapacity"/> messages each.</summary>
    /// <param name="perPeerQueueCapacity">Messages a sender queues for one peer before it drops and reports it unreachable.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="perPeerQueueCapacity"/> is less than 1.</exception>
    public InMemoryNetwork(int perPeerQueueCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perPeerQueueCapacity, 1);
        PerPeerQueueCapacity = perPeerQueueCapacity;
    }

    /// <summary>Messages a sender queues for one peer before it drops new ones and reports the peer unreachable.</summary>
    public int PerPeerQueueCapacity { get; }

    /// <summary>Creates the transport of node <paramref name="nodeId"/> and attaches it to this network.</summary>
    /// <param name="nodeId">The node's id; free again once its previous transport was disposed (a restart).</param>
    /// <returns>The transport; start it with a handler before sending.</returns>
    /// <exception cref="InvalidOperationException">A live transport with this id is attached already.</exception>
    public InMemoryTransport CreateTransport(string nodeId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeId);
        var transport = new InMemoryTransport(this, nodeId);
        if (!_nodes.TryAdd(nodeId, transport))
        {
            throw new InvalidOperationException($"The in-memory network already has a transport for node '{nodeId}'; dispose it before creating another.");
        }

        return transport;
    }

    /// <summary>Cuts the link between <paramref name="a"/> and <paramref name="b"/> in both directions.</summary>
    /// <param name="a">One node.</param>
    /// <param name="b">The other node.</param>
    public void Disconnect(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        UpdatePartition(p => p.WithCut(a, b).WithCut(b, a));
    }

    /// <summary>Drops every message from <paramref name="from"/> to <paramref name="to"/>; the other direction still works.</summary>
    /// <param name="from">The sender whose messages are lost.</param>
    /// <param name="to">The receiver that no longer hears from <paramref name="from"/>.</param>
    public void DisconnectOneWay(string from, string to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        UpdatePartition(p => p.WithCut(from, to));
    }

    /// <summary>Cuts <paramref name="nodeId"/> off from every other node, including nodes created later.</summary>
    /// <param name="nodeId">The node to isolate.</param>
    public void Isolate(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        UpdatePartition(p => p.WithIsolated(nodeId));
    }

    /// <summary>Restores every link cut by <see cref="Disconnect"/>, <see cref="DisconnectOneWay"/> and <see cref="Isolate"/>.</summary>
    public void Heal() => UpdatePartition(_ => Partition.None);

    /// <summary>True when a message from <paramref name="from"/> to <paramref name="to"/> would be delivered now.</summary>
    /// <param name="from">The sender.</param>
    /// <param name="to">The receiver.</param>
    /// <returns>Whether the receiver is attached, started and not cut off from the sender.</returns>
    public bool CanDeliver(string from, string to) => TryGetReceiver(from, to, out _);

    internal bool TryGetReceiver(string from, string to, out InMemoryTransport receiver)
    {
        if (_partition.Blocks(from, to) || !_nodes.TryGetValue(to, out receiver!) || !receiver.IsReceiving)
        {
            receiver = null!;
            return false;
        }

        return true;
    }

    internal void Detach(InMemoryTransport transport) =>
        _nodes.TryRemove(new KeyValuePair<string, InMemoryTransport>(transport.NodeId, transport));

    private void UpdatePartition(Func<Partition, Partition> change)
    {
        lock (_partitionLock)
        {
            _partition = change(_partition);
        }
    }

    // An immutable description of which directed links are cut.
    private sealed class Partition
    {
        public static readonly Partition None = new([], []);

        private readonly HashSet<(string From, string To)> _cuts;
        private readonly HashSet<string> _isolated;

        private Partition(HashSet<(string From, string To)> cuts, HashSet<string> isolated)
        {
            _cuts = cuts;
            _isolated = isolated;
        }

        private bool IsEmpty => _cuts.Count == 0 && _isolated.Count == 0;

        public bool Blocks(string from, string to) =>
            !IsEmpty && (_isolated.Contains(from) || _isolated.Contains(to) || _cuts.Contains((from, to)));

        public Partition WithCut(string from, string to) => new(new HashSet<(string, string)>(_cuts) { (from, to) }, _isolated);

        public Partition WithIsolated(string nodeId) => new(_cuts, new HashSet<string>(_isolated, StringComparer.Ordinal) { nodeId });
    }
}
