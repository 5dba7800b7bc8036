using Raft.Core.Engine;
using Raft.Core.Membership;

namespace Raft.Core.Runtime;

// Membership changes (thesis §4.1, single-server changes): learners, promotion, removal.
public sealed partial class RaftNode
{
    /// <summary>
    /// Adds <paramref name="nodeId"/> as a learner: it receives the log (or a snapshot) but does not vote, so the
    /// cluster's availability does not depend on it while it catches up (thesis §4.2.1). Call on the leader.
    /// </summary>
    /// <param name="nodeId">The new node's id. Start that node with the same <see cref="RaftOptions.Voters"/> the cluster
    /// was created with: the initial configuration is not in the log, so it replays the log from the same starting point.</param>
    /// <param name="cancellationToken">Abandons the wait only: the change may still commit.</param>
    /// <returns>The configuration after the change, once the change entry is committed and applied on this node.</returns>
    /// <remarks>See <see cref="ChangeMembershipAsync"/> for the failures.</remarks>
    public Task<ClusterConfiguration> AddLearnerAsync(string nodeId, CancellationToken cancellationToken = default) =>
        ChangeMembershipAsync(new ConfigurationChange(ConfigurationChangeKind.AddLearner, nodeId), cancellationToken);

    /// <summary>Makes the learner <paramref name="nodeId"/> a voter at once. Call on the leader.</summary>
    /// <param name="nodeId">The learner's id.</param>
    /// <param name="cancellationToken">Abandons the wait only: the change may still commit.</param>
    /// <returns>The configuration after the change, once the change entry is committed and applied on this node.</returns>
    /// <remarks>
    /// A voter that is far behind makes commits wait for it when the majority needs its vote; prefer
    /// <see cref="PromoteLearnerAsync(string, long, CancellationToken)"/>, which first waits for the learner to catch up.
    /// See <see cref="ChangeMembershipAsync"/> for the failures.
    /// </remarks>
    public Task<ClusterConfiguration> PromoteLearnerAsync(string nodeId, CancellationToken cancellationToken = default) =>
        ChangeMembershipAsync(new ConfigurationChange(ConfigurationChangeKind.PromoteLearner, nodeId), cancellationToken);

    /// <summary>
    /// Waits until the learner <paramref name="nodeId"/> is within <paramref name="maxLag"/> entries of the leader's log
    /// (<see cref="WaitForCatchUpAsync"/>), then makes it a voter. Call on the leader.
    /// </summary>
    /// <param name="nodeId">The learner's id.</param>
    /// <param name="maxLag">How many entries the learner may still lack; 0 waits for it to hold the whole log.</param>
    /// <param name="cancellationToken">Abandons the wait; once the change was proposed it may still commit.</param>
    /// <returns>The configuration after the change, once the change entry is committed and applied on this node.</returns>
    /// <remarks>See <see cref="WaitForCatchUpAsync"/> and <see cref="ChangeMembershipAsync"/> for the failures.</remarks>
    public async Task<ClusterConfiguration> PromoteLearnerAsync(string nodeId, long maxLag, CancellationToken cancellationToken = default)
    {
        await WaitForCatchUpAsync(nodeId, maxLag, cancellationToken).ConfigureAwait(false);
        return await PromoteLearnerAsync(nodeId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the voter or learner <paramref name="nodeId"/>. Call on the leader. The leader may remove itself: it keeps
    /// leading until the change commits, without counting itself in majorities, then steps down (thesis §4.2.2); the
    /// remaining voters elect a new leader after an election timeout. A removed node should then be stopped.
    /// </summary>
    /// <param name="nodeId">The member to remove.</param>
    /// <param name="cancellationToken">Abandons the wait only: the change may still commit.</param>
    /// <returns>The configuration after the change, once the change entry is committed and applied on this node.</returns>
    /// <remarks>
    /// Proposals still waiting on a leader that removed itself, appended after the removal was committed, fail with
    /// <see cref="ProposalResultUnknownException"/>: the new leader may still commit them, but this node no longer hears
    /// about it. See <see cref="ChangeMembershipAsync"/> for the failures.
    /// </remarks>
    public Task<ClusterConfiguration> RemoveMemberAsync(string nodeId, CancellationToken cancellationToken = default) =>
        ChangeMembershipAsync(new ConfigurationChange(ConfigurationChangeKind.Remove, nodeId), cancellationToken);

    /// <summary>
    /// Proposes one single-server membership change (thesis §4.1). It takes effect on each node as soon as the entry is
    /// in that node's log; only one change may be pending at a time. Call on the leader.
    /// </summary>
    /// <param name="change">The change.</param>
    /// <param name="cancellationToken">Abandons the wait only: the change may still commit.</param>
    /// <returns>The configuration after the change, once the change entry is committed and applied on this node.</returns>
    /// <remarks>
    /// Resolves exactly once, like <see cref="ProposeAsync"/>. Fails fast with <see cref="NotLeaderException"/> on a
    /// follower; with <see cref="ProposalDroppedException"/> while a leadership transfer runs or before a new leader has
    /// committed an entry of its term (thesis errata; retry shortly); with <see cref="RequestRejectedException"/>, whose
    /// message is the engine's reason, when another change is still pending or the change does not fit the
    /// configuration (adding a member twice, promoting a non-learner, removing the last voter, adding back a node that
    /// was a member earlier in this leader's term: retry after a leadership change). Later it may fail with
    /// <see cref="ProposalSupersededException"/> (the change was lost with a leadership change; retry),
    /// <see cref="ProposalResultUnknownException"/> or <see cref="RaftNodeStoppedException"/>.
    /// </remarks>
    /// <exception cref="ArgumentException">The node id is empty.</exception>
    /// <exception cref="InvalidOperationException">The node was not started.</exception>
    public Task<ClusterConfiguration> ChangeMembershipAsync(ConfigurationChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentException.ThrowIfNullOrWhiteSpace(change.NodeId, nameof(change));
        if (Volatile.Read(ref _state) == NotStarted)
        {
            throw new InvalidOperationException($"Raft node '{Id}' is not started; call StartAsync first.");
        }

        var pending = new PendingConfigurationChange(change);
        if (!_events.Writer.TryWrite(new LoopEvent(LoopEventKind.ConfigChange, pending)))
        {
            return Task.FromException<ClusterConfiguration>(RaftNodeStoppedException.For(Id, _failure));
        }

        return ConfigurationAfterAsync(pending.Task, cancellationToken);
    }

    /// <summary>
    /// Waits until the member <paramref name="nodeId"/> holds the leader's log up to at most <paramref name="maxLag"/>
    /// entries before its last index, as this leader last heard (see <see cref="GetReplicationStatus"/>). Call on the leader.
    /// </summary>
    /// <param name="nodeId">The member, typically a learner about to be promoted.</param>
    /// <param name="maxLag">How many entries it may still lack.</param>
    /// <param name="cancellationToken">Abandons the wait; there is no other bound, since a large log can take long.</param>
    /// <returns>A task that completes once the member has caught up.</returns>
    /// <exception cref="NotLeaderException">This node is not the leader, or stops leading while waiting.</exception>
    /// <exception cref="RequestRejectedException"><paramref name="nodeId"/> is not a member of the configuration.</exception>
    /// <exception cref="RaftNodeStoppedException">The node stopped first.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLag"/> is negative.</exception>
    public async Task WaitForCatchUpAsync(string nodeId, long maxLag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeId);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLag);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Volatile.Read(ref _state) == Stopped || _stopping.IsCancellationRequested)
            {
                throw RaftNodeStoppedException.For(Id, _failure);
            }

            var status = GetReplicationStatus() ?? throw new NotLeaderException(Id, _status.LeaderId);
            var member = status[nodeId] ?? throw new RequestRejectedException(
                $"Node '{nodeId}' is not a member of the configuration as leader '{Id}' sees it in term {status.Term} at commit index {status.CommitIndex} (its other members: {string.Join(", ", status.Followers.Select(f => f.IsLearner ? f.NodeId + " (learner)" : f.NodeId))}); add it as a learner first.");
            if (member.MatchIndex > 0 && member.MatchIndex >= status.LastIndex - maxLag)
            {
                return;
            }

            await Task.Delay(_options.TickInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<ClusterConfiguration> ConfigurationAfterAsync(Task<ProposalResult> proposal, CancellationToken cancellationToken)
    {
        var result = await proposal.WaitAsync(cancellationToken).ConfigureAwait(false);
        return ClusterConfiguration.Decode(result.Response.Span);
    }

    private void ProposeConfigurationChange(RawNode rawNode, PendingConfigurationChange pending)
    {
        ProposeOutcome outcome;
        try
        {
            outcome = rawNode.ProposeConfigurationChange(pending.Change);
        }
        catch (Exception ex)
        {
            pending.TrySetException(RaftNodeStoppedException.For(Id, ex));
            throw;
        }

        if (outcome.IsAccepted)
        {
            Log.MembershipChangeProposed(_logger, Id, pending.Change.Kind, pending.Change.NodeId, outcome.Index);
        }

        OnProposeOutcome(outcome, pending, "configuration change");
    }

    // A leader that removed itself stepped down: proposals it appended after the last index it knows committed may
    // still be committed by the next leader, but this node, no longer a member, will not be told.
    private void FailProposalsOfRemovedLeader(RaftStatus status)
    {
        if (status.Configuration is not { } configuration || configuration.Contains(Id))
        {
            return;
        }

        int failed;
        lock (_lock)
        {
            failed = _proposals.FailAbove(status.CommitIndex, (index, term) => new ProposalResultUnknownException(
                index,
                term,
                wasApplied: false,
                "this node was removed from the cluster before the entry was known committed, so it will not learn what became of it."));
        }

        if (failed > 0)
        {
            Log.RemovedLeaderFailedProposals(_logger, Id, failed);
        }
    }

    // A configuration change proposal; it resolves like a command, with the encoded configuration as its response.
    private sealed class PendingConfigurationChange(ConfigurationChange change)
        : TaskCompletionSource<ProposalResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ConfigurationChange Change { get; } = change;
    }
}
