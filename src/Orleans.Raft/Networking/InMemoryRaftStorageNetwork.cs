using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Transport;

namespace Orleans.Raft.Networking;

/// <summary>
/// Connects the Raft nodes of silos that run in one process (tests, samples) through an <see cref="InMemoryNetwork"/>;
/// forwarded writes are handed to the leader's <see cref="RaftNode"/> directly.
/// </summary>
/// <remarks>
/// Give the same instance to every silo of the cluster. Partitions made with <see cref="Network"/> apply to forwarded
/// writes too: a write forwarded across a cut fails as unreachable (certainly not applied). As over gRPC, two nodes
/// started with other initial voters (<see cref="RaftStorageEndpoint.InitialConfigurationId"/>) refuse each other:
/// nothing passes between them (event 4206). Thread-safe.
/// </remarks>
public sealed class InMemoryRaftStorageNetwork : IRaftStorageNetwork
{
    // The started connections by node id: each holds its node and its handler for forwarded membership changes.
    private readonly ConcurrentDictionary<string, Connection> _started = new(StringComparer.Ordinal);

    // Each connected node's initial-configuration fingerprint (null checks nothing, as a gRPC caller without one).
    private readonly ConcurrentDictionary<string, string?> _fingerprints = new(StringComparer.Ordinal);

    /// <summary>Creates a network over a new <see cref="InMemoryNetwork"/>.</summary>
    public InMemoryRaftStorageNetwork()
        : this(new InMemoryNetwork())
    {
    }

    /// <summary>Creates a network over <paramref name="network"/>.</summary>
    /// <param name="network">Carries the Raft messages; cut links on it to make partitions.</param>
    public InMemoryRaftStorageNetwork(InMemoryNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
    }

    /// <summary>The network that carries the Raft messages.</summary>
    public InMemoryNetwork Network { get; }

    /// <inheritdoc />
    public ValueTask<IRaftStorageConnection> ConnectAsync(RaftStorageEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var transport = Network.CreateTransport(endpoint.NodeId);
        _fingerprints[endpoint.NodeId] = endpoint.InitialConfigurationId;
        var logger = endpoint.LoggerFactory.CreateLogger<InMemoryRaftStorageNetwork>();
        return new ValueTask<IRaftStorageConnection>(
            new Connection(this, endpoint.NodeId, endpoint.InitialConfigurationId, transport, endpoint.MembershipChanges, logger));
    }

    // Whether `from` and `to` may talk: not when both were started with initial voters, and not the same ones.
    private bool SameGroup(string from, string to) => SameGroupAs(_fingerprints.GetValueOrDefault(from), to);

    // The same, with the sender's own fingerprint already at hand (a transport sends every message through here).
    private bool SameGroupAs(string? ours, string to) =>
        ours is null || !_fingerprints.TryGetValue(to, out var theirs) || theirs is null || ours == theirs;

    private sealed class Connection(
        InMemoryRaftStorageNetwork owner,
        string nodeId,
        string? fingerprint,
        InMemoryTransport transport,
        Func<RaftMembershipRequest, CancellationToken, Task<ClusterConfiguration>>? membershipChanges,
        ILogger logger) : IRaftStorageConnection
    {
        private RaftNode? _node;

        public IRaftTransport Transport { get; } = new CheckedTransport(transport, owner, nodeId, fingerprint, logger);

        private Func<RaftMembershipRequest, CancellationToken, Task<ClusterConfiguration>>? MembershipChanges => membershipChanges;

        public Task StartAsync(RaftNode node, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(node);
            _node = node;
            owner._started[nodeId] = this;
            return Task.CompletedTask;
        }

        public Task<ClusterConfiguration> ForwardMembershipChangeAsync(string leaderId, RaftMembershipRequest request, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(request);
            if (!owner.SameGroup(nodeId, leaderId))
            {
                return Task.FromException<ClusterConfiguration>(new InvalidOperationException(
                    $"Node '{leaderId}' refused a membership change forwarded by '{nodeId}': the two were started with other initial voters."));
            }

            if (!owner.Network.CanDeliver(nodeId, leaderId) || !owner._started.TryGetValue(leaderId, out var leader)
                || leader.MembershipChanges is not { } changes)
            {
                return Task.FromException<ClusterConfiguration>(new NotLeaderException(
                    $"Node '{nodeId}' cannot reach node '{leaderId}' to forward a membership change; it was not sent."));
            }

            return ForwardMembershipCoreAsync(leaderId, changes, request, cancellationToken);
        }

        public Task<RaftPeerView?> AskPeerAsync(string peerId, CancellationToken cancellationToken = default)
        {
            if (!owner.SameGroup(nodeId, peerId) || !owner.Network.CanDeliver(nodeId, peerId) || !owner.Network.CanDeliver(peerId, nodeId)
                || owner._started.GetValueOrDefault(peerId)?._node is not { } peer
                || peer.Completion.IsCompleted || peer.Status is not { Configuration: { } configuration } status)
            {
                return Task.FromResult<RaftPeerView?>(null);
            }

            return Task.FromResult<RaftPeerView?>(new RaftPeerView(peerId, status.Term, status.LeaderId, configuration));
        }

        private async Task<ClusterConfiguration> ForwardMembershipCoreAsync(
            string leaderId,
            Func<RaftMembershipRequest, CancellationToken, Task<ClusterConfiguration>> changes,
            RaftMembershipRequest request,
            CancellationToken cancellationToken)
        {
            var configuration = await changes(request, cancellationToken).ConfigureAwait(false);
            if (!owner.Network.CanDeliver(leaderId, nodeId))
            {
                throw new IOException($"The answer of node '{leaderId}' to a membership change forwarded by '{nodeId}' was lost; it may or may not be made. Retrying is safe.");
            }

            return configuration;
        }

        public Task<ProposalResult> ForwardAsync(string leaderId, ReadOnlyMemory<byte> command, CancellationToken cancellationToken = default)
        {
            if (!owner.SameGroup(nodeId, leaderId) || !owner.Network.CanDeliver(nodeId, leaderId) || owner._started.GetValueOrDefault(leaderId)?._node is not { } leader)
            {
                return Task.FromException<ProposalResult>(new NotLeaderException(
                    $"Node '{nodeId}' cannot reach node '{leaderId}' to forward a write; the write was not sent."));
            }

            return ForwardCoreAsync(leader, command, cancellationToken);
        }

        private async Task<ProposalResult> ForwardCoreAsync(RaftNode leader, ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
        {
            var result = await leader.ProposeAsync(command, cancellationToken).ConfigureAwait(false);

            // The answer travels back over the same network: a cut made meanwhile loses it (outcome unknown).
            if (!owner.Network.CanDeliver(leader.Id, nodeId))
            {
                throw new IOException($"The answer of node '{leader.Id}' to a write forwarded by '{nodeId}' was lost; it may or may not be applied.");
            }

            return result;
        }

        public async ValueTask DisposeAsync()
        {
            owner._started.TryRemove(new KeyValuePair<string, Connection>(nodeId, this));

            await transport.DisposeAsync().ConfigureAwait(false);
        }
    }

    // The node's transport, dropping what it would send to a node of another initial configuration (each side drops
    // its own, so nothing passes either way), and saying so once per peer.
    private sealed class CheckedTransport(InMemoryTransport inner, InMemoryRaftStorageNetwork owner, string nodeId, string? fingerprint, ILogger logger) : IRaftTransport
    {
        private readonly ConcurrentDictionary<string, bool> _refused = new(StringComparer.Ordinal);

        public void Start(IRaftMessageHandler handler) => inner.Start(handler);

        public void Send(Message message)
        {
            if (Admits(message.To))
            {
                inner.Send(message);
            }
        }

        public Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) =>
            Admits(message.To)
                ? inner.SendSnapshotAsync(message, data, cancellationToken)
                : Task.FromException(new IOException($"Node '{message.To}' was started with other initial voters than node '{nodeId}'; the snapshot was not sent."));

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        private bool Admits(string to)
        {
            if (owner.SameGroupAs(fingerprint, to))
            {
                return true;
            }

            if (_refused.TryAdd(to, true))
            {
                Log.InitialConfigurationMismatch(logger, nodeId, fingerprint ?? "none", to, owner._fingerprints.GetValueOrDefault(to) ?? "none");
            }

            return false;
        }
    }
}
