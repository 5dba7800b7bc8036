using System.Collections.Concurrent;
using System.Threading.Channels;
using Raft.Core.Messages;

namespace Raft.Core.Transport;

/// <summary>One node's <see cref="IRaftTransport"/> on an <see cref="InMemoryNetwork"/>.</summary>
/// <remarks>
/// <para>
/// Each destination gets its own link: a bounded queue (<see cref="InMemoryNetwork.PerPeerQueueCapacity"/>) and one
/// delivery task that hands the messages, in the order sent, to the destination's handler. So <see cref="Send"/>
/// never blocks and a slow or stuck receiver delays only its own link, as the <see cref="IRaftTransport"/> contract
/// requires. Messages are passed by reference (they are immutable), never serialised.
/// </para>
/// <para>
/// When the destination is unknown, not started, cut off by a partition, or its queue is full, the message is
/// dropped and the sender's handler is told through <see cref="IRaftMessageHandler.ReportUnreachable"/>. Thread-safe.
/// </para>
/// </remarks>
public sealed class InMemoryTransport : IRaftTransport
{
    private readonly InMemoryNetwork _network;
    private readonly ConcurrentDictionary<string, Link> _links = new(StringComparer.Ordinal);
    private readonly Lock _linksLock = new();
    private IRaftMessageHandler? _handler;
    private volatile bool _disposed;
    private long _droppedCount;

    internal InMemoryTransport(InMemoryNetwork network, string nodeId)
    {
        _network = network;
        NodeId = nodeId;
    }

    /// <summary>The id of the node this transport belongs to.</summary>
    public string NodeId { get; }

    /// <summary>Messages dropped so far because the destination was unreachable or its queue was full.</summary>
    public long DroppedCount => Interlocked.Read(ref _droppedCount);

    internal bool IsReceiving => !_disposed && Volatile.Read(ref _handler) is not null;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The transport was already started.</exception>
    /// <exception cref="ObjectDisposedException">The transport was disposed.</exception>
    public void Start(IRaftMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
        {
            throw new InvalidOperationException($"The transport of node '{NodeId}' was already started.");
        }
    }

    /// <inheritdoc />
    public void Send(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_disposed)
        {
            return;
        }

        if (!_network.CanDeliver(NodeId, message.To))
        {
            Drop(message.To);
            return;
        }

        if (!_links.TryGetValue(message.To, out var link) && !TryCreateLink(message.To, out link))
        {
            return;
        }

        if (!link.TryEnqueue(message))
        {
            Drop(message.To);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The sender's stream is handed to the receiver's <see cref="IRaftMessageHandler.ReceiveSnapshotAsync"/>, which reads
    /// it directly (no copy), on a thread-pool thread; the call completes when the receiver's handler does and fails
    /// with its exception. A destination that is unknown, stopped or cut off when the transfer starts fails it with
    /// <see cref="IOException"/>; a partition made during a transfer does not break it.
    /// </remarks>
    public async Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(data);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_network.CanDeliver(NodeId, message.To) ||
            !_network.TryGetReceiver(NodeId, message.To, out var receiver) ||
            Volatile.Read(ref receiver._handler) is not { } handler)
        {
            Drop(message.To);
            throw new IOException($"Node '{message.To}' is unreachable from '{NodeId}'; the snapshot was not delivered.");
        }

        // Yield so that the receiver never runs on the sender's consensus loop.
        await Task.Yield();
        await handler.ReceiveSnapshotAsync(message, data, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Detaches from the network, stops the delivery tasks and drops what they had not delivered yet.</summary>
    /// <returns>A task that completes when no delivery task runs any more.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        Link[] links;
        lock (_linksLock)
        {
            _disposed = true;
            links = [.. _links.Values];
        }

        _network.Detach(this);
        foreach (var link in links)
        {
            link.Close();
        }

        foreach (var link in links)
        {
            await link.Completion.ConfigureAwait(false);
        }
    }

    // Under a lock so that each destination gets exactly one delivery task and none starts after disposal.
    private bool TryCreateLink(string to, out Link link)
    {
        lock (_linksLock)
        {
            if (_disposed)
            {
                link = null!;
                return false;
            }

            if (!_links.TryGetValue(to, out link!))
            {
                link = new Link(this, to);
                _links[to] = link;
            }

            return true;
        }
    }

    private void Drop(string to)
    {
        Interlocked.Increment(ref _droppedCount);
        if (!_disposed)
        {
            Volatile.Read(ref _handler)?.ReportUnreachable(to);
        }
    }

    // The queue and delivery task from this transport to one destination.
    private sealed class Link
    {
        private readonly InMemoryTransport _owner;
        private readonly string _to;
        private readonly Channel<Message> _queue;

        public Link(InMemoryTransport owner, string to)
        {
            _owner = owner;
            _to = to;
            _queue = Channel.CreateBounded<Message>(new BoundedChannelOptions(owner._network.PerPeerQueueCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            Completion = Task.Run(DeliverAsync);
        }

        public Task Completion { get; }

        public bool TryEnqueue(Message message) => _queue.Writer.TryWrite(message);

        public void Close() => _queue.Writer.TryComplete();

        private async Task DeliverAsync()
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    if (_owner._disposed)
                    {
                        continue;
                    }

                    // Checked again at delivery: a partition made after the send still loses the message.
                    if (!_owner._network.TryGetReceiver(_owner.NodeId, _to, out var receiver) || receiver._handler is not { } handler)
                    {
                        _owner.Drop(_to);
                        continue;
                    }

                    try
                    {
                        handler.Receive(message);
                    }
                    catch (Exception)
                    {
                        // A receiver that throws loses the message, like a peer that crashed while reading it;
                        // the link keeps delivering the rest.
                        Interlocked.Increment(ref _owner._droppedCount);
                    }
                }
            }
        }
    }
}
