using System.Text;
using Raft.Core.Engine;
using Raft.Testing.KeyValue;
using Raft.Testing.Linearizability;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>The liveness phase and the end-of-run checks: convergence and linearizability.</summary>
/// <remarks>
/// Once faults stop, the cluster must, within <see cref="SimulationOptions.LeaderBoundMicros"/>, elect a leader that
/// every node knows; then resolve every pending proposal, let each client complete a few more operations, and bring
/// every replica to the same log and state, never stalling for longer than <see cref="SimulationOptions.ProgressBoundMicros"/>.
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
            if (!node.IsUp)
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
                _leaderAt = Now;
                _progressAt = Now;
                Trace($"liveness: {_nodes[leader].Id} leads term {_nodes[leader].Status.Term}, known to every node");
                foreach (var client in _clients)
                {
                    client.LivenessCompleted = 0;
                }
            }
            else if (Now - _livenessStart > Options.LeaderBoundMicros)
            {
                throw Failure(
                    LivenessName,
                    $"no leader known to every node within {SimulationTrace.FormatTime(Options.LeaderBoundMicros)} after faults stopped; terms: " +
                    string.Join(", ", _nodes.Select(node => node.IsUp ? $"{node.Id} {node.Status.Role} {node.Status.Term} (leader {node.Status.LeaderId ?? "?"})" : $"{node.Id} down")));
            }

            return false;
        }

        if (Quiescent(out var missing))
        {
            return true;
        }

        // A follower far behind may legitimately need long to catch up through a small pipelining window, so the
        // bound is on stalling: some replica must apply more, or some client complete more, at least this often.
        var progress = _stats.Completed + _nodes.Sum(node => node.IsUp ? node.Status.AppliedIndex : 0);
        if (progress > _progressMark)
        {
            _progressMark = progress;
            _progressAt = Now;
        }

        if (Now - _progressAt > Options.ProgressBoundMicros)
        {
            throw Failure(LivenessName, $"no progress for {SimulationTrace.FormatTime(Options.ProgressBoundMicros)} after the leader emerged: {missing}.");
        }

        if (Now - _leaderAt.Value > MaxConvergenceMicros)
        {
            throw Failure(LivenessName, $"not converged {SimulationTrace.FormatTime(MaxConvergenceMicros)} after the leader emerged: {missing}.");
        }

        return false;
    }

    /// <summary>The leader when exactly one node leads and every node is up and follows it in its term.</summary>
    private int? StableLeader()
    {
        int? leader = null;
        foreach (var node in _nodes)
        {
            if (!node.IsUp)
            {
                return null;
            }

            if (node.Status.Role == StateRole.Leader)
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
        return _nodes.All(node => node.Status.Term == status.Term && node.Status.LeaderId == status.Id) ? index : null;
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
        var behind = _nodes
            .Where(node => node.Status.AppliedIndex != target.LastIndex || node.Status.LastIndex != target.LastIndex || target.CommitIndex != target.LastIndex)
            .Select(node => $"{node.Id} applied {node.Status.AppliedIndex} of {node.Status.LastIndex} (leader commit {target.CommitIndex}, last {target.LastIndex})")
            .ToList();
        if (behind.Count > 0)
        {
            missing = "replicas not converged: " + string.Join(", ", behind);
            return false;
        }

        missing = string.Empty;
        return true;
    }

    private void CheckConvergence()
    {
        var logs = _nodes.Select(node => (node.Id, (IReadOnlyList<Raft.Core.Messages.Entry>)node.Log.Entries)).ToArray();
        LogMatchingInvariant.CheckAll(logs);
        var reference = _nodes[0];
        foreach (var node in _nodes)
        {
            if (node.Log.LastIndex != reference.Log.LastIndex || node.StateMachine.Describe() != reference.StateMachine.Describe())
            {
                throw Failure(
                    LivenessName,
                    $"replicas differ at the end: {reference.Id} has log {reference.Log.LastIndex} and {reference.StateMachine.Describe()}, " +
                    $"{node.Id} has log {node.Log.LastIndex} and {node.StateMachine.Describe()}.");
            }
        }
    }

    // Returns a fingerprint of the run: the history and the final state.
    private ulong CheckHistory()
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

        text.Append(_nodes[0].StateMachine.Describe()).Append(_events);
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
