using System.Text;
using Raft.Core.Engine;
using Raft.Testing.KeyValue;
using Raft.Testing.Linearizability;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>The liveness phase and the end-of-run checks: convergence and linearizability.</summary>
/// <remarks>
/// Once faults stop, the cluster must, within <see cref="SimulationOptions.LeaderBoundMicros"/>, elect a leader that
/// every member of its configuration knows; then resolve every pending proposal (membership changes included), let each
/// client complete a few more operations, and bring every member to the same log and state, never stalling for longer
/// than <see cref="SimulationOptions.ProgressBoundMicros"/>. Nodes removed from the configuration are shut down first.
/// </remarks>
public sealed partial class Simulator
{
    /// <summary>The name reported when the cluster makes no progress without faults.</summary>
    public const string LivenessName = "Liveness";

    /// <summary>The name reported when the history is not linearizable, or the check could not decide.</summary>
    public const string LinearizabilityName = "Linearizability";

    // However slowly replicas catch up, the run ends within this long after the liveness phase's leader emerged.
    private const long MaxConvergenceMicros = 60_000_000;

    private long _livenessStart;
    private long? _leaderAt;
    private long? _stableAt;

    // What a majority must durably hold before the strict liveness checks start: the stable leader's last entry when it
    // was first seen stable (see CaughtUpMajority).
    private (int Leader, long Term, long Index, long EntryTerm)? _catchUpTarget;
    // The stall check's measure of progress (see CheckProgress): the operations clients completed, plus, for each node,
    // the highest applied index plus last log index it has shown while up. Per-node highs, not a sum over the nodes up
    // now, so that a node retiring, which takes its indexes out of any such sum, cannot hide the progress of the rest
    // (seed 145715: a retired voter took about 3,000 out of the sum just before the leader emerged, and the one follower
    // left catching up, 1,150 entries behind through 64-byte messages, needed longer than the bound to make it up).
    private long[]? _progressHighs;
    private long _progressMark;
    private long _progressAt;

    private void StartLiveness()
    {
        _phase = SimPhase.Liveness;
        _livenessStart = Now;
        Network.FaultsEnabled = false;
        Network.HealAll();
        Network.DropEverything = Options.BreakNetworkInLiveness;
        foreach (var node in _nodes)
        {
            if (node.IsActive && _joined.Contains(node.Id) && !_committed.Configuration.Contains(node.Id))
            {
                Retire(node);
            }
            else if (node.State == NodeState.Down)
            {
                node.Start();
            }
        }
    }

    // After every event of the liveness phase: true once the run may end.
    private bool LivenessReached()
    {
        if (_leaderAt is null)
        {
            if (StableLeader() is { } leader)
            {
                _stableAt ??= Now;
                if (RemovalPending(_nodes[leader].Status) is { } removed)
                {
                    CheckProgress($"{removed} campaigns, removed by a change not committed yet, without check-quorum");
                }
                else if (CaughtUpMajority(leader, out var lagging))
                {
                    _leaderAt = Now;
                    _progressAt = Now;
                    Trace($"liveness: {_nodes[leader].Id} leads term {_nodes[leader].Status.Term}, known to every node, with a caught-up majority");
                    foreach (var client in _clients)
                    {
                        client.LivenessCompleted = 0;
                    }
                }
                else
                {
                    // Voters cut off during the faults may be far behind; until enough catch up, nothing new commits.
                    // That may take a while through a small pipelining window, but it must not stall.
                    CheckProgress(() => $"no caught-up majority under leader {_nodes[leader].Id}: {DescribeLagging(lagging)}");
                }
            }
            else if (_stableAt is null && Now - _livenessStart > Options.LeaderBoundMicros)
            {
                throw Failure(
                    LivenessName,
                    $"no leader known to every member within {SimulationTrace.FormatTime(Options.LeaderBoundMicros)} after faults stopped; terms: " +
                    DescribeNodes());
            }

            // However it stands (a stable leader seen once and lost again, or one whose log no majority receives while
            // its own grows with every proposal, which CheckProgress counts), this phase must end.
            if (Now - _livenessStart > MaxConvergenceMicros)
            {
                throw Failure(
                    LivenessName,
                    $"no leader with a caught-up majority {SimulationTrace.FormatTime(MaxConvergenceMicros)} after faults stopped; " +
                    DescribeNodes());
            }

            return false;
        }

        if (Quiescent(out var missing))
        {
            return true;
        }

        CheckProgress(missing);

        if (Now - _leaderAt.Value > MaxConvergenceMicros)
        {
            throw Failure(LivenessName, $"not converged {SimulationTrace.FormatTime(MaxConvergenceMicros)} after the leader emerged: {missing}.");
        }

        return false;
    }

    // Each active node's role, term, leader and log, for a liveness failure's message.
    private string DescribeNodes() =>
        string.Join(", ", ActiveNodes().Select(node => node.IsUp
            ? $"{node.Id} {node.Status.Role} {node.Status.Term} (leader {node.Status.LeaderId ?? "?"}, last {node.Status.LastIndex}, commit {node.Status.CommitIndex})"
            : $"{node.Id} down"));

    // A follower far behind may legitimately need long to catch up through a small pipelining window, so the bound is
    // on stalling: some replica must apply more, or some client complete more, at least this often.
    private void CheckProgress(string missing) => CheckProgress(() => missing);

    // The description of what is missing is built only for a failure: the catch-up phase checks after every event.
    private void CheckProgress(Func<string> missing)
    {
        _progressHighs ??= new long[_nodes.Length];
        foreach (var node in _nodes)
        {
            if (node.IsUp)
            {
                _progressHighs[node.Index] = Math.Max(_progressHighs[node.Index], node.Status.AppliedIndex + node.Status.LastIndex);
            }
        }

        var progress = _stats.Completed + _progressHighs.Sum();
        if (progress > _progressMark || _progressAt == 0)
        {
            _progressMark = progress;
            _progressAt = Now;
        }

        if (Now - _progressAt > Options.ProgressBoundMicros)
        {
            throw Failure(LivenessName, $"no progress for {SimulationTrace.FormatTime(Options.ProgressBoundMicros)} after the leader emerged: {missing()}.");
        }
    }

    /// <summary>
    /// Whether a majority of the leader's voters (itself included) durably hold the leader's log as it stood when this
    /// leader was first seen stable, so that new entries commit promptly: an entry commits only once a majority holds
    /// every entry before it, the uncommitted tail of earlier terms included. A log merely as long as the leader's
    /// commit index does not do: its suffix may conflict and have to be replaced entry by entry (seed 59471: followers
    /// with 41 entries, conflicting from 16 and 19, 64-byte messages and follower writes of 80-240ms needed 1.4 s).
    /// </summary>
    private bool CaughtUpMajority(int leaderIndex, out List<SimNode> lagging)
    {
        var leaderNode = _nodes[leaderIndex];
        var leader = leaderNode.Status;
        if (_catchUpTarget is not { } target || target.Leader != leaderIndex || target.Term != leader.Term)
        {
            var last = leaderNode.EngineLog.LastIndex;
            target = (leaderIndex, leader.Term, last, leaderNode.EngineLog.TermAt(last));
            _catchUpTarget = target;
        }

        var voters = leader.Configuration!.Voters;

        // By Log Matching, a log with the target's entry (same index and term) holds everything before it too; a log
        // whose snapshot covers the target's index holds it as well.
        lagging = voters.Select(id => _byId[id])
            .Where(node => node.Log.BaseIndex < target.Index && node.Log.TermAt(target.Index) != target.EntryTerm)
            .ToList();
        return voters.Count - lagging.Count >= (voters.Count / 2) + 1;
    }

    // The voters CaughtUpMajority found behind, against its target, for a failure's message.
    private string DescribeLagging(List<SimNode> lagging)
    {
        var target = _catchUpTarget!.Value;
        return string.Join(", ", lagging.Select(node => $"{node.Id} holds {node.Log.LastIndex} (term {node.Log.TermAt(target.Index)} at {target.Index}), not the leader's {target.Index} (term {target.EntryTerm})"));
    }

    // Without check-quorum no node ignores vote requests (there is no lease: thesis §4.2.3, RaftState.Step), so a
    // running voter that a pending change removes, cut off by the leader's new configuration before the change commits,
    // times out and deposes leader after leader until the removal commits and the operator shuts it down (seed 81054:
    // follower appends slower than an election timeout kept that from happening for longer than a client's timeout).
    // Until then the strict checks wait and only stalling fails the run. Returns that voter, or null.
    private string? RemovalPending(RaftStatus leader) =>
        Options.CheckQuorum ? null
        : _committed.Configuration.Voters.FirstOrDefault(id => !leader.Configuration!.Contains(id) && _byId[id].IsUp);

    /// <summary>The leader when exactly one node leads and every member of its configuration is up and follows it in its term.</summary>
    private int? StableLeader()
    {
        int? leader = null;
        foreach (var node in _nodes)
        {
            if (node.IsUp && node.Status.Role == StateRole.Leader)
            {
                if (leader is not null)
                {
                    return null;
                }

                leader = node.Index;
            }
        }

        if (leader is not { } index)
        {
            return null;
        }

        var status = _nodes[index].Status;
        return Members(status).All(node => node.IsUp && node.Status.Term == status.Term && node.Status.LeaderId == status.Id) ? index : null;
    }

    /// <summary>The nodes of the configuration in force on <paramref name="leader"/>, voters and learners, the leader first.</summary>
    private List<SimNode> Members(RaftStatus leader)
    {
        var configuration = leader.Configuration!;
        var members = new List<SimNode> { _byId[leader.Id] };
        members.AddRange(configuration.Voters.Concat(configuration.Learners).Where(id => id != leader.Id).Select(id => _byId[id]));
        return members;
    }

    private bool Quiescent(out string missing)
    {
        var busy = _clients.Where(client => !client.Finished).Select(client => $"client {client.Id} ({client.LivenessCompleted} done)").ToList();
        if (busy.Count > 0)
        {
            missing = "clients still working: " + string.Join(", ", busy);
            return false;
        }

        if (StableLeader() is not { } leader)
        {
            missing = "no stable leader";
            return false;
        }

        var pending = _nodes.Where(node => node.PendingProposals > 0).Select(node => $"{node.Id} has {node.PendingProposals}").ToList();
        if (pending.Count > 0)
        {
            missing = "proposals still pending: " + string.Join(", ", pending);
            return false;
        }

        var target = _nodes[leader].Status;
        var behind = Members(target)
            .Where(node => node.Status.AppliedIndex != target.LastIndex || node.Status.LastIndex != target.LastIndex || target.CommitIndex != target.LastIndex || node.IsWriting)
            .Select(node => $"{node.Id} applied {node.Status.AppliedIndex} of {node.Status.LastIndex} (leader commit {target.CommitIndex}, last {target.LastIndex}){(node.IsWriting ? ", append in flight" : string.Empty)}")
            .ToList();
        if (behind.Count > 0)
        {
            missing = "replicas not converged: " + string.Join(", ", behind);
            return false;
        }

        missing = string.Empty;
        return true;
    }

    // Returns the members of the final configuration, the leader first.
    private List<SimNode> CheckConvergence()
    {
        var members = Members(_nodes[StableLeader()!.Value].Status);
        LogMatchingInvariant.CheckAll(members.Select(node => (node.Id, (ILogView)node.Log)).ToArray());
        var reference = members[0];
        foreach (var node in members)
        {
            if (node.Log.LastIndex != reference.Log.LastIndex || node.StateMachine.Describe() != reference.StateMachine.Describe())
            {
                throw Failure(
                    LivenessName,
                    $"replicas differ at the end: {reference.Id} has log {reference.Log.LastIndex} and {reference.StateMachine.Describe()}, " +
                    $"{node.Id} has log {node.Log.LastIndex} and {node.StateMachine.Describe()}.");
            }
        }

        return members;
    }

    // Returns a fingerprint of the run: the history and the final state.
    private ulong CheckHistory(SimNode leader)
    {
        var history = _history.Build(KvOutput.Indeterminate);
        var result = LinearizabilityChecker.Check(KvModel.Instance, history, TimeSpan.FromSeconds(60));
        switch (result.Outcome)
        {
            case CheckOutcome.Ok:
                break;
            case CheckOutcome.Illegal:
                throw Failure(LinearizabilityName, $"the client history of {history.Count} operations is not linearizable: {result.Explanation}");
            default:
                throw Failure(
                    LinearizabilityName, $"the checker could not decide on {history.Count} operations within its timeout (counted as a failure): {result.Explanation}");
        }

        var text = new StringBuilder();
        foreach (var op in history)
        {
            text.Append(op.ClientId).Append(' ').Append(KvModel.Instance.Describe(op.Input, op.Output)).Append(' ')
                .Append(op.Call).Append(' ').Append(op.Return).Append('\n');
        }

        text.Append(leader.StateMachine.Describe()).Append(_events);
        return Fnv1a(text.ToString());
    }

    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
