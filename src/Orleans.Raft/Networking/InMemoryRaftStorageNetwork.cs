using System.Collections.Concurrent;
using Raft.Core.Membership;
using Raft.Core.Runtime;
using Raft.Core.Transport;

namespace Orleans.Raft.Networking;

/// <summary>
/// Connects the Raft nodes of silos that run in one process (tests, samples) through an <see cref="InMemoryNetwork"/>;
/// forwarded writes are handed to the leader's <see cref="RaftNode"/> directly.
/// </summary>
/// <remarks>
/// Give the same instance to every silo of the cluster. Partitions made with <see cref="Network"/> apply to forwarded
/// writes too: a write forwarded across a cut fails as unreachable (certainly not applied). Thread-safe.
/// </remarks>
public sealed class InMemoryRaftStorageNetwork : IRaftStorageNetwork
{
    // The started connections by node id: each holds its node and its handler for forwarded membership changes.
    private readonly ConcurrentDictionary<string, Connection> _started = new(StringComparer.Ordinal);

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
        return new ValueTask<IRaftStorageConnection>(new Connection(this, endpoint.NodeId, transport, endpoint.MembershipChanges));
    }

    private sealed class Connection(
        InMemoryRaftStorageNetwork owner,
        string nodeId,
        InMemoryTransport transport,
        Func<RaftMembershipRequest, CancellationToken, Task<ClusterConfiguration>>? membershipChanges) : IRaftStorageConnection
    {
        private RaftNode? _node;

        public IRaftTransport Transport => transport;

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
            if (!owner.Network.CanDeliver(nodeId, peerId) || !owner.Network.CanDeliver(peerId, nodeId) || owner._started.GetValueOrDefault(peerId)?._node is not { } peer
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
            if (!owner.Network.CanDeliver(nodeId, leaderId) || owner._started.GetValueOrDefault(leaderId)?._node is not { } leader)
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
}
