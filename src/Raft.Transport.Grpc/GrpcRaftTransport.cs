using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Raft.Core.Messages;
using Raft.Core.Transport;
using Raft.Transport.Grpc.Security;

namespace Raft.Transport.Grpc;

/// <summary>An <see cref="IRaftTransport"/> over gRPC: one long-lived HTTP/2 stream to each peer, carrying batches of messages in order.</summary>
/// <remarks>
/// <para>
/// Sending: each peer has a link with a bounded queue (<see cref="GrpcTransportOptions.PerPeerQueueCapacity"/>) and
/// one task that opens a bidirectional stream to the peer, waits for the peer to accept it, and writes the queued
/// messages in batches, in the order sent. So <see cref="Send"/> never blocks, and a slow peer only fills its own
/// queue. When the queue is full, the peer is unknown, or the link is down, the message is dropped and the handler
/// told through <see cref="IRaftMessageHandler.ReportUnreachable"/>; a broken stream drops what was queued and
/// reconnects after a backoff that doubles from <see cref="GrpcTransportOptions.ReconnectBackoffMin"/> to
/// <see cref="GrpcTransportOptions.ReconnectBackoffMax"/>.
/// </para>
/// <para>
/// Receiving: the transport does not listen itself. A server hosts its service (see
/// <see cref="Hosting.GrpcRaftServer"/>, or <see cref="Hosting.RaftGrpcServiceCollectionExtensions.AddRaftGrpcTransport(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{GrpcTransportOptions})"/>
/// inside an ASP.NET Core application), checks each call's cluster id and sender, and hands each valid message to
/// the handler given to <see cref="Start"/>, on the thread that read it. Replies travel on this node's own stream to
/// the peer: Raft messages are one-way.
/// </para>
/// <para>Thread-safe. Snapshots travel on a call of their own (<see cref="SendSnapshotAsync"/>), beside the stream.</para>
/// </remarks>
public sealed partial class GrpcRaftTransport : IRaftTransport
{
    private readonly ConcurrentDictionary<string, PeerLink> _links = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _inboundStreams = new(StringComparer.Ordinal);
    private readonly Lock _linksLock = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly KeyValuePair<string, object?> _nodeTag;
    private IRaftMessageHandler? _handler;
    private volatile bool _disposed;
    private long _droppedCount;

    /// <summary>Creates the transport of one node; it sends nothing until <see cref="Start"/>.</summary>
    /// <param name="options">The configuration; validated and copied here.</param>
    /// <param name="loggerFactory">Where logs go; none when null.</param>
    /// <exception cref="ArgumentException">The options are inconsistent; the message names the setting.</exception>
    public GrpcRaftTransport(GrpcTransportOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger<GrpcRaftTransport>();
        Tls = Options.Tls is { } tls ? TlsMaterial.Load(tls) : null;
        _nodeTag = new KeyValuePair<string, object?>(TransportMetrics.NodeTag, Options.NodeId);
        Headers = new Metadata { { CallHeaders.ClusterId, Options.ClusterId }, { CallHeaders.SenderId, Options.NodeId } };
        if (Options.InitialConfigurationId is { } initialConfiguration)
        {
            Headers.Add(CallHeaders.InitialConfigurationId, initialConfiguration);
        }

        foreach (var (id, address) in Options.Peers)
        {
            if (id != Options.NodeId)
            {
                GrpcTransportOptions.TryNormalizeAddress(address, Tls is not null, out var uri);
                _links[id] = new PeerLink(this, id, uri);
            }
        }
    }

    /// <summary>This node's id.</summary>
    public string NodeId => Options.NodeId;

    /// <summary>The cluster this node belongs to.</summary>
    public string ClusterId => Options.ClusterId;

    /// <summary>The peers this node sends to and accepts calls from: node id → address.</summary>
    public IReadOnlyDictionary<string, Uri> Peers => _links.ToDictionary(l => l.Key, l => l.Value.Address, StringComparer.Ordinal);

    /// <summary>Messages dropped so far: peer unknown or unreachable, queue full, or message too large.</summary>
    public long DroppedCount => Interlocked.Read(ref _droppedCount);

    internal GrpcTransportOptions Options { get; }

    internal TlsMaterial? Tls { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal ILogger Logger { get; }

    // The headers of every call this node makes: cluster id and sender id.
    internal Metadata Headers { get; }

    // Null until Start, and again after disposal.
    internal IRaftMessageHandler? Handler => _disposed ? null : Volatile.Read(ref _handler);

    // Cancelled when the transport is disposed: ends the calls it serves.
    internal CancellationToken Stopping => _disposing.Token;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The transport was already started.</exception>
    /// <exception cref="ObjectDisposedException">The transport was disposed.</exception>
    public void Start(IRaftMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
        {
            throw new InvalidOperationException($"The gRPC transport of node '{NodeId}' was already started.");
        }

        Log.TransportStarted(Logger, NodeId, ClusterId, string.Join(", ", _links.Select(l => $"{l.Key}={l.Value.Address}")));
    }

    /// <inheritdoc />
    public void Send(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_disposed)
        {
            return;
        }

        if (!_links.TryGetValue(message.To, out var link) || !link.TryEnqueue(message))
        {
            Drop(message.To, 1);
        }
    }

    /// <summary>Adds a peer, or changes its address (the old stream is closed and a new one opened on the next send).</summary>
    /// <param name="nodeId">The peer's node id; not this node's.</param>
    /// <param name="address">The peer's address, as <c>host:port</c> or an <c>http(s)://</c> URI.</param>
    /// <exception cref="ArgumentException">The id is this node's or invalid, or the address cannot be parsed.</exception>
    /// <exception cref="ObjectDisposedException">The transport was disposed.</exception>
    public void SetPeer(string nodeId, string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeId);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (nodeId == NodeId || !GrpcTransportOptions.IsHeaderSafe(nodeId))
        {
            throw new ArgumentException($"'{nodeId}' cannot be a peer of node '{NodeId}': use another node's id (printable ASCII, no spaces).", nameof(nodeId));
        }

        if (!GrpcTransportOptions.TryNormalizeAddress(address, Tls is not null, out var uri))
        {
            throw new ArgumentException($"'{address}' is not an address: use host:port (for example 127.0.0.1:5002) or an http(s):// URI.", nameof(address));
        }

        PeerLink? old;
        lock (_linksLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_links.TryGetValue(nodeId, out old) && old.Address == uri)
            {
                return;
            }

            _links[nodeId] = new PeerLink(this, nodeId, uri);
        }

        Log.PeerAddressSet(Logger, NodeId, nodeId, uri);
        _ = old?.CloseAsync();
    }

    /// <summary>Forgets a peer: messages to it are dropped and its calls refused from now on.</summary>
    /// <param name="nodeId">The peer's node id.</param>
    /// <returns>True when the peer was known.</returns>
    public bool RemovePeer(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        PeerLink? old;
        lock (_linksLock)
        {
            if (!_links.TryRemove(nodeId, out old))
            {
                return false;
            }
        }

        Log.PeerRemoved(Logger, NodeId, nodeId);
        if (_inboundStreams.TryRemove(nodeId, out var inbound))
        {
            inbound.Cancel();
        }

        _ = old.CloseAsync();
        return true;
    }

    /// <summary>Stops sending and serving: closes every peer stream, ends the calls it serves, and drops what was not sent.</summary>
    /// <returns>A task that completes when no sending task runs any more.</returns>
    public async ValueTask DisposeAsync()
    {
        PeerLink[] links;
        lock (_linksLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            links = [.. _links.Values];
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(links.Select(l => l.CloseAsync())).ConfigureAwait(false);
    }

    internal bool IsKnownPeer(string nodeId) => _links.ContainsKey(nodeId);

    internal bool TryGetPeerAddress(string nodeId, out Uri address)
    {
        if (_links.TryGetValue(nodeId, out var link))
        {
            address = link.Address;
            return true;
        }

        address = null!;
        return false;
    }

    // The channel to a peer, for calls beside the stream (client forwarding, status).
    internal global::Grpc.Net.Client.GrpcChannel? GetChannel(string nodeId) =>
        _links.TryGetValue(nodeId, out var link) ? link.Channel : null;

    // A new stream from `sender` supersedes its previous one: the old call is ended, so a half-open connection does not linger.
    internal CancellationTokenSource RegisterInboundStream(string sender, CancellationToken callToken, CancellationToken serverStopping)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(callToken, serverStopping, _disposing.Token);
        CancellationTokenSource? previous = null;
        _inboundStreams.AddOrUpdate(sender, cts, (_, old) =>
        {
            previous = old;
            return cts;
        });
        try
        {
            previous?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // That stream ended meanwhile.
        }

        return cts;
    }

    internal void UnregisterInboundStream(string sender, CancellationTokenSource cts) =>
        _inboundStreams.TryRemove(new KeyValuePair<string, CancellationTokenSource>(sender, cts));

    internal void Drop(string to, int count)
    {
        if (count <= 0)
        {
            return;
        }

        Interlocked.Add(ref _droppedCount, count);
        TransportMetrics.MessagesDropped.Add(count, _nodeTag, new KeyValuePair<string, object?>(TransportMetrics.PeerTag, to));
        if (Handler is { } handler)
        {
            handler.ReportUnreachable(to);
        }
    }

    internal KeyValuePair<string, object?> NodeTag => _nodeTag;
}
