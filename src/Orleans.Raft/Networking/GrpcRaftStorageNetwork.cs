using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Raft.Core.Membership;
using Raft.Core.Runtime;
using Raft.Core.Transport;
using Raft.Transport.Grpc;
using Raft.Transport.Grpc.Client;
using Microsoft.Extensions.Logging;

namespace Orleans.Raft.Networking;

/// <summary>
/// Connects the provider's Raft nodes over gRPC (HTTP/2): each silo runs a small Kestrel endpoint for its node at its
/// address in <c>RaftGrainStorageOptions.Members</c>; Raft messages stream between the endpoints, and a follower
/// forwards writes to the leader on one long-lived stream that batches whatever is queued. The default network of the provider.
/// </summary>
/// <remarks>
/// Each node listens on the port of its own member address: on that IP address when the host is one (or
/// <c>localhost</c>), on every interface when it is a host name. Set <see cref="ListenAddress"/> to choose otherwise,
/// and <see cref="ConfigureTransport"/> for TLS and the transport's limits.
/// </remarks>
public sealed class GrpcRaftStorageNetwork : IRaftStorageNetwork
{
    /// <summary>
    /// Where this silo's endpoint listens, as <c>host:port</c> (an IP address, <c>0.0.0.0</c> or <c>localhost</c>);
    /// null (the default) derives it from this node's member address.
    /// </summary>
    public string? ListenAddress { get; init; }

    /// <summary>Adjusts the transport's options (TLS, message sizes, timeouts) before the transport is created.</summary>
    public Action<GrpcTransportOptions>? ConfigureTransport { get; init; }

    /// <inheritdoc />
    public ValueTask<IRaftStorageConnection> ConnectAsync(RaftStorageEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var clusterId = HeaderSafe(endpoint.ClusterId);
        var options = new GrpcTransportOptions
        {
            ClusterId = clusterId,
            NodeId = endpoint.NodeId,
            ListenAddress = ListenAddress ?? DeriveListenAddress(endpoint.Members[endpoint.NodeId]),
            Peers = endpoint.Members.Where(m => m.Key != endpoint.NodeId).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal),
            InitialConfigurationId = endpoint.InitialConfigurationId,
        };
        ConfigureTransport?.Invoke(options);
        var transport = new GrpcRaftTransport(options, endpoint.LoggerFactory);
        return new ValueTask<IRaftStorageConnection>(new Connection(transport, options, endpoint));
    }

    /// <summary>The listening <c>host:port</c> for a member address: its IP address and port, or every interface for a host name.</summary>
    /// <param name="address">A member address: <c>host:port</c> or an <c>http(s)://</c> URI.</param>
    /// <returns>The address to listen on.</returns>
    /// <exception cref="ArgumentException">The address has no port.</exception>
    public static string DeriveListenAddress(string address)
    {
        if (!TryParse(address, out var host, out var port))
        {
            throw new ArgumentException($"The Raft member address '{address}' must be host:port or an http(s):// URI with a port.", nameof(address));
        }

        var listenHost = host == "localhost" || IPAddress.TryParse(host, out _) ? host : "0.0.0.0";
        return $"{listenHost}:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>True when <paramref name="address"/> is <c>host:port</c> or an <c>http(s)://</c> URI with a port.</summary>
    /// <param name="address">The address to check.</param>
    /// <param name="host">The host.</param>
    /// <param name="port">The port.</param>
    /// <returns>Whether the address could be read.</returns>
    public static bool TryParse(string? address, out string host, out int port)
    {
        host = "";
        port = 0;
        if (string.IsNullOrWhiteSpace(address))
        {
            return false;
        }

        var text = address.Contains("://", StringComparison.Ordinal) ? address : $"http://{address}";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || uri.IsDefaultPort && !address.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        host = uri.Host.Trim('[', ']');
        port = uri.Port;
        return port is > 0 and <= 65535;
    }

    // gRPC headers carry the cluster id: keep printable ASCII without spaces.
    private static string HeaderSafe(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(c is > ' ' and < (char)127 ? c : '-');
        }

        return builder.ToString();
    }

    private sealed class Connection(GrpcRaftTransport transport, GrpcTransportOptions options, RaftStorageEndpoint endpoint) : IRaftStorageConnection
    {
        // Keyed by node id and address: a client made for an address read just before it changed is not the new one's.
        private readonly ConcurrentDictionary<(string Id, string Address), GrpcRaftClient> _unaryClients = new();
        private readonly ConcurrentDictionary<(string Id, string Address), ForwardingClient> _forwardingClients = new();
        private readonly ILogger _logger = endpoint.LoggerFactory.CreateLogger<GrpcRaftStorageNetwork>();
        private GrpcRaftStorageServer? _server;

        public IRaftTransport Transport => transport;

        public async Task StartAsync(RaftNode node, CancellationToken cancellationToken = default)
        {
            var forwarding = new ForwardingServiceContext(
                options.ClusterId, endpoint.NodeId, endpoint.Members, () => node, endpoint.MembershipChanges, options.Tls is not null,
                transport.ProvesCallerIds ? transport : null, _logger);
            _server = new GrpcRaftStorageServer(transport, options, node, forwarding, endpoint.LoggerFactory);
            await _server.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        public Task<ProposalResult> ForwardAsync(string leaderId, ReadOnlyMemory<byte> command, CancellationToken cancellationToken = default)
        {
            if (!endpoint.Members.TryGetValue(leaderId, out var address))
            {
                return Task.FromException<ProposalResult>(
                    new NotLeaderException($"Node '{endpoint.NodeId}' has no address for node '{leaderId}'; the write was not sent."));
            }

            // With TLS the write goes as one unary call of the transport's client (which carries the TLS setup);
            // without, on this silo's batched forwarding stream to the leader.
            if (options.Tls is not null)
            {
                return ForwardUnaryAsync(leaderId, address, command, cancellationToken);
            }

            return ForwardingClientFor(leaderId, address) is { } client
                ? client.ForwardAsync(command, cancellationToken)
                : Task.FromException<ProposalResult>(new NotLeaderException($"Node '{endpoint.NodeId}' cannot use the address '{address}' of node '{leaderId}'; the write was not sent."));
        }

        public Task<ClusterConfiguration> ForwardMembershipChangeAsync(string leaderId, RaftMembershipRequest request, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(request);
            if (options.Tls is not null && !transport.ProvesCallerIds)
            {
                // Over TLS the leader's forwarding service serves only callers whose certificates prove their node ids
                // (README, "Adding, removing and replacing silos").
                return Task.FromException<ClusterConfiguration>(new NotSupportedException(
                    $"Membership changes are not forwarded between silos over TLS without GrpcTlsOptions.BindCertificateToNodeId: call on the leader's silo ('{leaderId}')."));
            }

            if (!endpoint.Members.TryGetValue(leaderId, out var address) || (options.Tls is null && ForwardingClientFor(leaderId, address) is null))
            {
                return Task.FromException<ClusterConfiguration>(
                    new NotLeaderException($"Node '{endpoint.NodeId}' has no usable address for node '{leaderId}'; the membership change was not sent."));
            }

            if (options.Tls is not null)
            {
                // On the transport's own channel to the leader, whose certificate speaks for this node.
                return MembershipCall.SendAsync(
                    token => transport.CallPeer(leaderId, ForwardingProtocol.ChangeMembership, MembershipFrames.EncodeRequest(request), token),
                    endpoint.NodeId, leaderId, cancellationToken);
            }

            return ForwardingClientFor(leaderId, address)!.ChangeMembershipAsync(request, cancellationToken);
        }

        public void CheckPeerAddress(string nodeId, string address)
        {
            if (!GrpcTransportOptions.IsHeaderSafe(nodeId))
            {
                throw new ArgumentException($"The node id '{nodeId}' must be printable ASCII without spaces (it travels as a gRPC header).", nameof(nodeId));
            }

            var tls = options.Tls is not null;
            if (!GrpcTransportOptions.IsPeerAddress(address, tls))
            {
                throw new ArgumentException(
                    $"'{address}' is not a gRPC address for '{nodeId}'. Use host:port (for example 10.0.0.4:7001) or an {(tls ? "https" : "http")}:// URI with a port and no path{(tls ? " (this silo's network uses TLS)" : "")}.",
                    nameof(address));
            }
        }

        public void SetPeerAddress(string nodeId, string address)
        {
            if (nodeId == endpoint.NodeId)
            {
                // This silo listens where its options say; others reach it at the recorded address.
                return;
            }

            transport.SetPeer(nodeId, address);

            // The next forwarded call opens a client for the new address; calls in flight on the old one end as they may.
            DropOldClients(_forwardingClients, nodeId, address);
            DropOldClients(_unaryClients, nodeId, address);
        }

        private static void DropOldClients<TClient>(ConcurrentDictionary<(string Id, string Address), TClient> clients, string nodeId, string address)
            where TClient : IAsyncDisposable
        {
            foreach (var key in clients.Keys.Where(k => k.Id == nodeId && k.Address != address))
            {
                if (clients.TryRemove(key, out var client))
                {
                    _ = client.DisposeAsync().AsTask();
                }
            }
        }

        public async Task<RaftPeerView?> AskPeerAsync(string peerId, CancellationToken cancellationToken = default)
        {
            if (!endpoint.Members.TryGetValue(peerId, out var address))
            {
                return null;
            }

            try
            {
                var client = UnaryClientFor(peerId, address);
                var statuses = await client.GetStatusAsync(includePeers: false, cancellationToken).ConfigureAwait(false);
                if (statuses is not [{ Reachable: true, Id: var id } status, ..] || id != peerId)
                {
                    return null;
                }

                var view = new RaftPeerView(peerId, status.Term, status.LeaderId, new ClusterConfiguration(status.Voters, status.Learners));
                if (status.LeaderId is not { } leaderId || leaderId == endpoint.NodeId)
                {
                    return view;
                }

                if (leaderId == peerId)
                {
                    return view with { LeaderAddress = address };
                }

                if (endpoint.Members.ContainsKey(leaderId))
                {
                    return view;
                }

                // A leader this node has no address for: the peer's peers' statuses carry the addresses it reaches them at.
                var withPeers = await client.GetStatusAsync(includePeers: true, cancellationToken).ConfigureAwait(false);
                return view with { LeaderAddress = withPeers.Skip(1).FirstOrDefault(s => s.Id == leaderId)?.Address };
            }
            catch (Exception ex) when (ex is RaftClientException or Grpc.Core.RpcException or ArgumentException or OperationCanceledException or ObjectDisposedException)
            {
                // Unreachable, refused, or given up: no answer (the caller looks at its own token).
                return null;
            }
        }

        // The batched forwarding client for the leader at `address`, made at the first write there (the address is
        // parsed then, not per write); null when the address cannot be read.
        private ForwardingClient? ForwardingClientFor(string leaderId, string address)
        {
            if (_forwardingClients.TryGetValue((leaderId, address), out var client))
            {
                return client;
            }

            if (!TryParse(address, out var host, out var port))
            {
                return null;
            }

            return _forwardingClients.GetOrAdd((leaderId, address), key => new ForwardingClient(
                endpoint.NodeId, key.Id, new Uri($"http://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port.ToString(CultureInfo.InvariantCulture)}"),
                options.ClusterId, options.MaxMessageBytes, _logger));
        }

        private async Task<ProposalResult> ForwardUnaryAsync(string leaderId, string address, ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
        {
            var client = UnaryClientFor(leaderId, address);
            try
            {
                var result = await client.ProposeAsync(command, cancellationToken).ConfigureAwait(false);
                return new ProposalResult(result.Index, result.Result);
            }
            catch (RaftClientException ex) when (!ex.OutcomeUnknown)
            {
                throw new NotLeaderException($"The write forwarded by node '{endpoint.NodeId}' to '{leaderId}' was not applied: {ex.Message}", ex);
            }
        }

        // The transport's own client for one node (it carries the TLS set-up).
        private GrpcRaftClient UnaryClientFor(string nodeId, string address) =>
            _unaryClients.GetOrAdd((nodeId, address), _ => new GrpcRaftClient(new GrpcRaftClientOptions
            {
                ClusterId = options.ClusterId,
                Endpoints = [address],
                Tls = options.Tls,
                MaxMessageBytes = options.MaxMessageBytes,

                // The provider retries itself, within its own operation timeout; one short round here is enough.
                RetryBudget = TimeSpan.FromMilliseconds(500),
            }));

        public async ValueTask DisposeAsync()
        {
            // The transport first, so its peer streams end cleanly, then the server that served them.
            await transport.DisposeAsync().ConfigureAwait(false);
            if (_server is { } server)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var client in _forwardingClients.Values)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var client in _unaryClients.Values)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            _forwardingClients.Clear();
            _unaryClients.Clear();
        }
    }
}
