using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Testing.KeyValue;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>Feeding the invariants: after every event, and inside every durable write and every apply.</summary>
public sealed partial class Simulator
{
    /// <summary>The name reported when a node's durable log is not what its engine believes is durable.</summary>
    public const string DurableLogName = "Durable log matches the engine (Ready contract)";

    /// <summary>The name reported when one client request is applied twice.</summary>
    public const string ExactlyOnceName = "Exactly-once apply";

    // After every event: each live node's view, checked against what the whole cluster ever showed.
    private void ObserveNodes()
    {
        foreach (var node in _nodes)
        {
            if (!node.IsUp)
            {
                continue;
            }

            var status = node.Status;
            var log = node.Log.Entries;
            _monotonicCommit.ObserveCommit(node.Id, node.Incarnation, status.CommitIndex);

            // Every Ready was carried out before the event ended, so nothing may be left only in memory.
            if (status.LastIndex != log.Count || status.StableIndex != log.Count)
            {
                throw new InvariantViolationException(
                    DurableLogName, $"{node.Id}'s engine has last index {status.LastIndex} (stable {status.StableIndex}) but its durable log ends at {log.Count}.");
            }

            if (status.CommitIndex > node.LearnedCommit)
            {
                var firstNew = _committed.Learn(node.Id, status.Term, log, status.CommitIndex, node.LearnedCommit + 1);
                node.LearnedCommit = status.CommitIndex;
                if (firstNew <= _committed.LastIndex)
                {
                    _durability.CheckFrom(firstNew);
                }
            }

            if (status.Role == StateRole.Leader)
            {
                _electionSafety.ObserveLeader(node.Id, status.Term);
                _leaderCompleteness.ObserveLeader(node.Id, status.Term, log);
            }
        }
    }

    internal void BeforeDurableAppend(SimNode node, IReadOnlyList<Entry> log, IReadOnlyList<Entry> entries) =>
        _durability.BeforeWrite(node.Id, log, entries);

    internal void AfterDurableAppend(SimNode node, IReadOnlyList<Entry> log, long fromIndex)
    {
        _logMatching.ObserveWrite(node.Id, log, fromIndex);
        _durability.CheckFrom(fromIndex);
    }

    internal void BeforeDurableSave(SimNode node, HardState previous, HardState next)
    {
        ElectionSafetyInvariant.ObserveDurableHardState(node.Id, previous, next);
        MonotonicCommitInvariant.ObserveDurableHardState(node.Id, previous, next);
    }

    internal void OnApply(SimNode node, Entry entry)
    {
        var first = _stateMachineSafety.ObserveApply(node.Id, entry);
        if (first && entry.Type == EntryType.Normal)
        {
            var command = KvCommand.Decode(entry.Data.Span);
            if (!_appliedRequests.Add(command.RequestId))
            {
                throw new InvariantViolationException(ExactlyOnceName, $"request {command.RequestId} ({command.Type} {command.Key}) is in the log twice; the second copy is {entry}.");
            }
        }
    }
}
