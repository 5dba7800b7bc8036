using System.Collections.Concurrent;
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
    private readonly ConcurrentDictionary<string, RaftNode> _nodes = new(StringComparer.Ordinal);

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
        return new ValueTask<IRaftStorageConnection>(new Connection(this, endpoint.NodeId, transport));
    }

    private sealed class Connection(InMemoryRaftStorageNetwork owner, string nodeId, InMemoryTransport transport) : IRaftStorageConnection
    {
        private RaftNode? _node;

        public IRaftTransport Transport => transport;

        public Task StartAsync(RaftNode node, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(node);
            _node = node;
            owner._nodes[nodeId] = node;
            return Task.CompletedTask;
        }

        public Task<ProposalResult> ForwardAsync(string leaderId, ReadOnlyMemory<byte> command, CancellationToken cancellationToken = default)
        {
            if (!owner.Network.CanDeliver(nodeId, leaderId) || !owner._nodes.TryGetValue(leaderId, out var leader))
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
            if (_node is { } node)
            {
                owner._nodes.TryRemove(new KeyValuePair<string, RaftNode>(nodeId, node));
            }

            await transport.DisposeAsync().ConfigureAwait(false);
        }
    }
}
