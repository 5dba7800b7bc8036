using Orleans.Raft.Networking;
using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Core.Runtime;

namespace Orleans.Raft.Storage;

// Changing who holds the grain state at run time: a silo joins as a voter, a member leaves (README, "Adding, removing
// and replacing silos").
public sealed partial class RaftGrainStorage
{
    /// <summary>
    /// How many entries a joining silo's log may still lack when <see cref="AddVoterAsync(string, CancellationToken)"/> makes it a voter: under a
    /// steady write load the learner is never exactly level with the leader, and this many entries take it one or two
    /// replication rounds.
    /// </summary>
    public const long PromotionMaxLag = 1024;

    /// <summary>The Raft group's voters and learners as this silo's node knows them; null before the node started.</summary>
    public ClusterConfiguration? Configuration => _node?.Status.Configuration;

    /// <summary>
    /// Makes the silo <paramref name="nodeId"/> a voter of this provider's Raft group: it is added as a learner (it
    /// receives the log or a snapshot without counting in majorities), and promoted once its log is within
    /// <see cref="PromotionMaxLag"/> entries of the leader's. Call on any running silo of the group: one whose node
    /// does not lead forwards the call to the leader's silo. Done already is done.
    /// </summary>
    /// <param name="nodeId">The joining silo's node id. It must be in <c>AdditionalMembers</c> on every silo (or in
    /// <c>Members</c>, for an initial voter removed earlier whose data is intact), or have an address the group recorded
    /// (see <see cref="AddVoterAsync(string, string, CancellationToken)"/>), and that silo should be running (its
    /// start waits for this call). Never the name of a silo whose data was lost: use a new name.</param>
    /// <param name="cancellationToken">Abandons the wait (catching up a large log can take long; there is no other
    /// bound); a change already proposed may still commit.</param>
    /// <returns>The configuration once the silo votes (and that change is committed).</returns>
    /// <exception cref="ArgumentException">No silo has an address for <paramref name="nodeId"/>.</exception>
    /// <exception cref="InvalidOperationException">This silo's node is not running.</exception>
    /// <exception cref="NotLeaderException">No leader is known (an election is under way), the leader's silo could not
    /// be reached, or leadership moved while the call ran: retry shortly.</exception>
    /// <exception cref="NotSupportedException">The call had to be forwarded, over a network that does not forward
    /// membership changes (gRPC with TLS and <c>BindCertificateToNodeId</c> off): call on the leader's silo.</exception>
    /// <remarks>
    /// A forwarded call fails with the exception the leader's silo threw, of the same kind, or with
    /// <see cref="IOException"/> when its answer was lost on the way (README, "Adding, removing and replacing silos").
    /// A call that finds its change already in force confirms it with an empty entry: <see cref="TimeoutException"/>
    /// when that takes longer than <c>OperationTimeout</c>, <see cref="NotLeaderException"/> when leadership changed
    /// meanwhile (retry on the leader). Other failures are those of <see cref="RaftNode.ChangeMembershipAsync"/>: among them
    /// <see cref="RequestRejectedException"/> while another change is pending, or when the node was a member earlier
    /// in the leader's term (retry after a leadership change), and <see cref="ProposalDroppedException"/> just after an
    /// election (retry shortly). Retrying is safe: each step is skipped once it is done.
    /// </remarks>
    public async Task<ClusterConfiguration> AddVoterAsync(string nodeId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeId);
        RequireAddress(nodeId);
        return await ChangeAsync(new RaftMembershipRequest(RaftMembershipOperation.AddVoter, nodeId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes the silo <paramref name="nodeId"/>, listening at <paramref name="address"/>, a voter of this provider's
    /// Raft group, as <see cref="AddVoterAsync(string, CancellationToken)"/> does, with no need for any other silo's
    /// options to list it: the leader's silo first records the address in the group (a committed entry, which every
    /// silo applies, a restarted or later-added one included), then adds the silo. Also gives a member a new address
    /// (the silo moved): every silo sends to it there from then on.
    /// </summary>
    /// <param name="nodeId">The joining silo's node id. Never the name of a silo whose data was lost: use a new name.</param>
    /// <param name="address">Its Raft endpoint's address, as its own options give it (<c>host:port</c> for gRPC; its
    /// options list the group's <c>Members</c> and itself in <c>AdditionalMembers</c>, and it learns where any other
    /// leader is from the other silos).</param>
    /// <param name="cancellationToken">Abandons the wait; the address may be recorded and the change may still commit.</param>
    /// <returns>The configuration once the silo votes.</returns>
    /// <exception cref="ArgumentException">The node id or the address cannot be used on this network.</exception>
    /// <remarks>
    /// Every silo must run a release that knows recorded addresses (this one) before the first such call: an older one
    /// cannot apply the entry. Other failures: see <see cref="AddVoterAsync(string, CancellationToken)"/>; a retry
    /// finds the address recorded and goes on.
    /// </remarks>
    public async Task<ClusterConfiguration> AddVoterAsync(string nodeId, string address, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeId);
        CheckAddress(nodeId, address);
        return await ChangeAsync(new RaftMembershipRequest(RaftMembershipOperation.AddVoter, nodeId, address), cancellationToken).ConfigureAwait(false);
    }

    private async Task<ClusterConfiguration> AddVoterHereAsync(RaftNode node, RaftMembershipRequest request, CancellationToken cancellationToken)
    {
        var nodeId = request.NodeId;
        if (request.Address is { } address)
        {
            await RecordAddressAsync(node, nodeId, address, cancellationToken).ConfigureAwait(false);
        }

        var configuration = node.Status.Configuration!; // a leader always has one
        if (configuration.IsVoter(nodeId))
        {
            return await CommittedAsync(node, cancellationToken).ConfigureAwait(false);
        }

        if (!configuration.Contains(nodeId))
        {
            await node.AddLearnerAsync(nodeId, cancellationToken).ConfigureAwait(false);
        }

        return await node.PromoteLearnerAsync(nodeId, PromotionMaxLag, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the silo <paramref name="nodeId"/> (a voter or a learner) from this provider's Raft group. Call on any
    /// running silo of the group (one whose node does not lead forwards the call to the leader's silo); a member
    /// already gone is done. The leader may remove its own silo: it steps down once the change commits, and the others
    /// elect a leader.
    /// </summary>
    /// <param name="nodeId">The leaving silo's node id.</param>
    /// <param name="cancellationToken">Abandons the wait only: the change may still commit.</param>
    /// <returns>The configuration without the silo, once that change is committed.</returns>
    /// <exception cref="InvalidOperationException">This silo's node is not running.</exception>
    /// <exception cref="NotLeaderException">No leader is known, the leader's silo could not be reached, or leadership
    /// moved while the call ran: retry shortly.</exception>
    /// <remarks>
    /// Stop the removed silo for good. A follower does not hear of its own removal from the leader (which stops
    /// replicating to it at once): it takes itself for a member that no leader answers, until its silo, asking the
    /// others, finds that the leader has it out (event 4014); a leader that removed itself knows, and waits at start
    /// (event 4012). Removing a voter leaves fewer to lose: with three voters, remove one only after its replacement
    /// has joined. Retrying the removal of the leader's own silo while it
    /// is still pending can end with <see cref="ProposalResultUnknownException"/> although it succeeds (the leader stops
    /// hearing about its entries): read <see cref="Configuration"/> on another silo. Other failures: see
    /// <see cref="AddVoterAsync(string, CancellationToken)"/>.
    /// </remarks>
    public async Task<ClusterConfiguration> RemoveMemberAsync(string nodeId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeId);
        return await ChangeAsync(new RaftMembershipRequest(RaftMembershipOperation.RemoveMember, nodeId), cancellationToken).ConfigureAwait(false);
    }

    private async Task<ClusterConfiguration> RemoveMemberHereAsync(RaftNode node, string nodeId, CancellationToken cancellationToken)
    {
        var configuration = node.Status.Configuration!; // a leader always has one
        return configuration.Contains(nodeId)
            ? await node.RemoveMemberAsync(nodeId, cancellationToken).ConfigureAwait(false)
            : await CommittedAsync(node, cancellationToken).ConfigureAwait(false);
    }

    // Made here when this node leads, else forwarded to the leader's silo, which makes it there (ChangeForwardedAsync).
    private Task<ClusterConfiguration> ChangeAsync(RaftMembershipRequest request, CancellationToken cancellationToken)
    {
        var node = RunningNode();
        if (node.IsLeader)
        {
            return ChangeHereAsync(node, request, cancellationToken);
        }

        var leaderId = node.Status.LeaderId;
        if (leaderId is null || leaderId == node.Id || _connection is not { } connection)
        {
            throw new NotLeaderException(node.Id, (string?)null);
        }

        return connection.ForwardMembershipChangeAsync(leaderId, request, cancellationToken);
    }

    // A change another silo forwarded here because this node leads (RaftStorageEndpoint.MembershipChanges); refused
    // with NotLeaderException when it no longer does.
    private Task<ClusterConfiguration> ChangeForwardedAsync(RaftMembershipRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.NodeId);
        if (request.Operation == RaftMembershipOperation.AddVoter)
        {
            if (request.Address is { } address)
            {
                CheckAddress(request.NodeId, address);
            }
            else
            {
                RequireAddress(request.NodeId);
            }
        }

        // Asked because this node leads: one that is not running (the silo stops) has moved on, as far as the caller
        // is concerned.
        var node = _node ?? throw new NotLeaderException(
            $"Raft grain storage '{_name}': the Raft node of silo '{NodeId}' is not running (the silo starts or stops); retry with the leader.");
        return ChangeHereAsync(node.IsLeader ? node : throw new NotLeaderException(node.Id, node.Status.LeaderId), request, cancellationToken);
    }

    private Task<ClusterConfiguration> ChangeHereAsync(RaftNode node, RaftMembershipRequest request, CancellationToken cancellationToken) =>
        request.Operation switch
        {
            RaftMembershipOperation.AddVoter => AddVoterHereAsync(node, request, cancellationToken),
            RaftMembershipOperation.RemoveMember => RemoveMemberHereAsync(node, request.NodeId, cancellationToken),
            _ => throw new ArgumentException($"Unknown membership operation {request.Operation}.", nameof(request)),
        };

    private void RequireAddress(string nodeId)
    {
        if (!MemberAddresses.ContainsKey(nodeId))
        {
            throw new ArgumentException(
                $"Raft grain storage '{_name}': '{nodeId}' is in neither Members nor AdditionalMembers [{string.Join(", ", _options.AdditionalMembers?.Keys ?? [])}], and the group recorded no address for it, so no silo has its address. Pass its address: AddVoterAsync(\"{nodeId}\", \"host:port\").",
                nameof(nodeId));
        }
    }

    // The configuration in force takes effect when its entry is appended, before it commits, and a leadership change
    // can still undo it. An empty entry (a no-op for the state machine) this leader commits in the term it read the
    // configuration in commits every entry before it; a leader never loses entries of its own term's log, and cannot
    // lead the same term twice. Otherwise the change may have been lost: the caller retries against the leader.
    private async Task<ClusterConfiguration> CommittedAsync(RaftNode node, CancellationToken cancellationToken)
    {
        var before = node.Status;
        try
        {
            await node.ProposeAsync(ReadOnlyMemory<byte>.Empty, cancellationToken).WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(
                $"Raft grain storage '{_name}': the configuration ({before.Configuration}) is in force on the leader '{node.Id}' but could not be confirmed committed within OperationTimeout ({_options.OperationTimeout}): the leader may be cut off from a majority, and the change may yet be lost. Retry on the leader once a majority is reachable.",
                ex);
        }

        var after = node.Status;
        if (before.Role != StateRole.Leader || after.Role != StateRole.Leader || after.Term != before.Term)
        {
            throw new NotLeaderException(
                $"Raft node '{node.Id}' stopped leading term {before.Term} while confirming the configuration ({before.Configuration}); it may not have been committed. Retry on the leader ({after.LeaderId ?? "none known yet"}).");
        }

        return before.Configuration!;
    }

    private RaftNode RunningNode() => _node ?? throw new InvalidOperationException(
        $"Raft grain storage '{_name}': the Raft node of silo '{NodeId}' is not running (the silo has not started or is stopping).");
}
