using Raft.Core.Membership;
using Raft.Core.Runtime;
using Raft.Core.Transport;

namespace Orleans.Raft.Networking;

/// <summary>
/// How the Raft nodes of one grain-storage provider reach each other: the transport for Raft's own messages, and a way
/// for a follower to hand a write to the leader.
/// </summary>
/// <remarks>
/// The provider calls <see cref="ConnectAsync"/> once per start of its node. Implementations: the gRPC one (the
/// default, one HTTP/2 endpoint per silo) and <see cref="InMemoryRaftStorageNetwork"/> for silos in one process
/// (tests, samples).
/// </remarks>
public interface IRaftStorageNetwork
{
    /// <summary>Creates the connection of one node; nothing is served until <see cref="IRaftStorageConnection.StartAsync"/>.</summary>
    /// <param name="endpoint">Who the node is and who its peers are.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The node's connection; the caller disposes it after stopping the node.</returns>
    ValueTask<IRaftStorageConnection> ConnectAsync(RaftStorageEndpoint endpoint, CancellationToken cancellationToken = default);
}

/// <summary>One node's identity and peers, as the provider's options give them.</summary>
/// <param name="ClusterId">Names the Raft group; peers of another group are refused where the network can tell.</param>
/// <param name="NodeId">This node's id (the silo name unless configured otherwise).</param>
/// <param name="Members">Every silo that is or may become a member, this node included: node id → network address. The
/// provider adds to it the addresses the group records at run time (<c>AddVoterAsync</c> with an address), and calls
/// <see cref="IRaftStorageConnection.SetPeerAddress"/> for each: read it when an address is needed, do not copy it.</param>
/// <param name="LoggerFactory">Where the network logs.</param>
public sealed record RaftStorageEndpoint(
    string ClusterId,
    string NodeId,
    IReadOnlyDictionary<string, string> Members,
    Microsoft.Extensions.Logging.ILoggerFactory LoggerFactory)
{
    /// <summary>
    /// A fingerprint of the group's initial voters; a network that can tell refuses peers started with another one
    /// (the gRPC network does; the in-memory one, for silos of one process, does not). Null checks nothing.
    /// </summary>
    public string? InitialConfigurationId { get; init; }

    /// <summary>
    /// Carries out, on this silo, a membership change that another silo forwarded here because this node leads (see
    /// <see cref="IRaftStorageConnection.ForwardMembershipChangeAsync"/>); it throws <see cref="NotLeaderException"/>
    /// when this node does not lead. Null refuses forwarded changes.
    /// </summary>
    public Func<RaftMembershipRequest, CancellationToken, Task<ClusterConfiguration>>? MembershipChanges { get; init; }
}

/// <summary>One node's link to the others; see <see cref="IRaftStorageNetwork"/>.</summary>
/// <remarks>
/// Order: <see cref="IRaftStorageNetwork.ConnectAsync"/>, create the <see cref="RaftNode"/> on <see cref="Transport"/>,
/// <see cref="StartAsync"/>, start the node; on the way down stop the node, then dispose the connection.
/// </remarks>
public interface IRaftStorageConnection : IAsyncDisposable
{
    /// <summary>The transport the node sends and receives Raft messages with.</summary>
    IRaftTransport Transport { get; }

    /// <summary>Starts serving the node: peers' messages and writes forwarded by followers reach it from now on.</summary>
    /// <param name="node">The node built on <see cref="Transport"/>, not necessarily started yet.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes once the node can be reached.</returns>
    Task StartAsync(RaftNode node, CancellationToken cancellationToken = default);

    /// <summary>Hands a command to the node <paramref name="leaderId"/>, which proposes it if it leads.</summary>
    /// <param name="leaderId">The node believed to lead.</param>
    /// <param name="command">The command.</param>
    /// <param name="cancellationToken">Abandons the wait; the command may still be applied.</param>
    /// <returns>The log index and the state machine's answer, once the leader applied the command.</returns>
    /// <remarks>
    /// Failure contract: <see cref="NotLeaderException"/>, <see cref="ProposalDroppedException"/> and
    /// <see cref="ProposalSupersededException"/> mean the command was certainly not applied (the first also when the
    /// leader could not be reached at all); any other exception means its outcome is unknown.
    /// </remarks>
    Task<ProposalResult> ForwardAsync(string leaderId, ReadOnlyMemory<byte> command, CancellationToken cancellationToken = default);

    /// <summary>
    /// Asks the silo of node <paramref name="leaderId"/> to make a membership change (its
    /// <see cref="RaftStorageEndpoint.MembershipChanges"/>), and waits until it did.
    /// </summary>
    /// <param name="leaderId">The node believed to lead.</param>
    /// <param name="request">The change.</param>
    /// <param name="cancellationToken">Abandons the wait; the change may still be made.</param>
    /// <returns>The configuration once the change is committed.</returns>
    /// <remarks>
    /// The leader's silo's failure is thrown here as the same kind of exception (<see cref="NotLeaderException"/>,
    /// <see cref="RequestRejectedException"/>, <see cref="ProposalDroppedException"/>, <see cref="TimeoutException"/>,
    /// <see cref="ArgumentException"/>); a leader that cannot be reached fails it with <see cref="NotLeaderException"/>,
    /// an answer lost on the way with <see cref="IOException"/>. The changes are safe to retry. A network that cannot
    /// forward them throws <see cref="NotSupportedException"/>.
    /// </remarks>
    Task<ClusterConfiguration> ForwardMembershipChangeAsync(string leaderId, RaftMembershipRequest request, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} does not forward membership changes: call on the leader's silo.");

    /// <summary>Checks, before the group records it, that this network can reach a node at <paramref name="address"/>.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="address">Its address.</param>
    /// <exception cref="ArgumentException">The network cannot use the node id or the address; the message says why.</exception>
    void CheckPeerAddress(string nodeId, string address)
    {
        // A network that does not route by address (in memory) takes any.
    }

    /// <summary>
    /// Takes a peer's address that the group recorded at run time (a silo added with its address, or a member given a
    /// new one), already in <see cref="RaftStorageEndpoint.Members"/>: Raft messages and forwarded calls to
    /// <paramref name="nodeId"/> go there from now on. Called on the node's applier, only when the address changed.
    /// </summary>
    /// <param name="nodeId">The peer (never this node).</param>
    /// <param name="address">Its address.</param>
    /// <exception cref="ArgumentException">The network cannot use the address.</exception>
    void SetPeerAddress(string nodeId, string address)
    {
        // A network that does not route by address (in memory) has nothing to change.
    }

    /// <summary>Asks the node <paramref name="peerId"/> how it sees the group (for diagnosis only; nothing acts on it in Raft).</summary>
    /// <param name="peerId">The node to ask.</param>
    /// <param name="cancellationToken">Abandons the question.</param>
    /// <returns>Its answer, or null when it could not be asked (or the network cannot ask).</returns>
    Task<RaftPeerView?> AskPeerAsync(string peerId, CancellationToken cancellationToken = default) => Task.FromResult<RaftPeerView?>(null);
}

/// <summary>How one node sees its Raft group, as <see cref="IRaftStorageConnection.AskPeerAsync"/> reports it.</summary>
/// <param name="NodeId">The node that answered.</param>
/// <param name="Term">Its current term.</param>
/// <param name="LeaderId">The leader it knows in that term (itself when it leads), or null.</param>
/// <param name="Configuration">The latest configuration in its log.</param>
public sealed record RaftPeerView(string NodeId, long Term, string? LeaderId, ClusterConfiguration Configuration)
{
    /// <summary>Where the answering node reaches its leader, when the network can tell; null otherwise.</summary>
    public string? LeaderAddress { get; init; }
}
