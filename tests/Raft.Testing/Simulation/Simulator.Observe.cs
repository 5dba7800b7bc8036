using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Testing.KeyValue;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>Feeding the invariants: after every event, and inside every durable write, every apply and every snapshot.</summary>
public sealed partial class Simulator
{
    /// <summary>The name reported when a node's durable log is not what its engine believes is durable.</summary>
    public const string DurableLogName = "Durable log matches the engine (Ready contract)";

    /// <summary>The name reported when one client request is applied twice.</summary>
    public const string ExactlyOnceName = "Exactly-once apply";

    /// <summary>The name reported when a proposal a node reported superseded (never applied) is committed after all.</summary>
    public const string SupersededName = "A proposal reported superseded is never applied";

    private FeatureStats _features;

    // The (index, term) of every client proposal reported superseded whose index is not known committed yet, with who
    // reported it; each is checked once its index commits, then dropped.
    private readonly Dictionary<(long Index, long Term), string> _supersededReports = [];

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
            var log = node.Log;
            _monotonicCommit.ObserveCommit(node.Id, node.Incarnation, status.CommitIndex);

            // Every Ready was carried out before the event ended, so nothing may be left only in memory, except an
            // append in flight, which the engine must not count as durable yet, and entries not yet handed out
            // (EngineLog shows them), which it must not count either: a leader's that wait to be sent, or ones taken
            // while the writes ran (the next ready hands them out, whatever the role then). A follower's append in
            // flight may overwrite a conflicting tail of the durable log: what precedes it is the stable part.
            var stable = node.WritingFrom is { } writingFrom ? writingFrom - 1 : log.LastIndex;
            if (status.LastIndex != node.EngineLog.LastIndex || status.StableIndex != stable || log.LastIndex < stable
                || (status.Role != StateRole.Leader && !node.IsWriting && node.HandedOutThrough < status.LastIndex))
            {
                throw new InvariantViolationException(
                    DurableLogName,
                    $"{node.Id}'s engine ({status.Role}) has last index {status.LastIndex} (stable {status.StableIndex}, handed out through {node.HandedOutThrough}) but its durable log ends at {log.LastIndex}" +
                    (node.IsWriting ? $", with entries through {node.EngineLog.LastIndex} in flight." : "."));
            }

            LearnCommit(node, status);
            if (status.Role == StateRole.Leader)
            {
                _features.LeaderHeldEntries += !node.IsWriting && node.HandedOutThrough < status.LastIndex ? 1 : 0;
                _electionSafety.ObserveLeader(node.Id, status.Term);
                _leaderCompleteness.ObserveLeader(node.Id, status.Term, log);
                _singleConfigurationChange.ObserveLeader(node.Id, status.Term, node.EngineLog, _committed.LastIndex);
            }
        }
    }

    /// <summary>A node is about to apply: learn its commit index now, before it applies and perhaps compacts those entries.</summary>
    internal void ObserveCommit(SimNode node) => LearnCommit(node, node.Status);

    private void LearnCommit(SimNode node, RaftStatus status)
    {
        if (status.CommitIndex <= node.LearnedCommit)
        {
            return;
        }

        var configurations = _committed.ConfigurationChanges;
        // The engine's log: a leader commits entries its own append has not made durable yet, once a majority of
        // others has (the durability check below counts only durable copies).
        var firstNew = _committed.Learn(node.Id, status.Term, node.EngineLog, status.CommitIndex, node.LearnedCommit + 1);
        node.LearnedCommit = status.CommitIndex;
        if (firstNew <= _committed.LastIndex)
        {
            _durability.CheckFrom(firstNew);
            CheckSupersededReports();
        }

        if (_committed.ConfigurationChanges != configurations)
        {
            _electoratesAt = -1;
            OnConfigurationCommitted();
        }
    }

    /// <summary>A node reported a client proposal superseded: its entry (<paramref name="index"/>, <paramref name="term"/>) must never commit.</summary>
    internal void ObserveSuperseded(long index, long term, string report)
    {
        if (index <= _committed.LastIndex)
        {
            if (_committed[index].Term == term)
            {
                throw new InvariantViolationException(SupersededName, $"{report}, but {_committed[index]} was committed already.");
            }

            return;
        }

        _supersededReports[(index, term)] = report;
    }

    private void CheckSupersededReports()
    {
        if (_supersededReports.Count == 0)
        {
            return;
        }

        foreach (var ((index, term), report) in _supersededReports.Where(r => r.Key.Index <= _committed.LastIndex).ToList())
        {
            if (_committed[index].Term == term)
            {
                throw new InvariantViolationException(SupersededName, $"{report}, but {_committed[index]} was committed later.");
            }

            _supersededReports.Remove((index, term));
        }
    }

    internal void BeforeDurableAppend(SimNode node, ILogView log, IReadOnlyList<Entry> entries, WriteDecision decided) =>
        _durability.BeforeWrite(node.Id, log, entries, decided);

    internal void AfterDurableAppend(SimNode node, ILogView log, long fromIndex)
    {
        _logMatching.ObserveWrite(node.Id, log, fromIndex);
        _durability.CheckFrom(fromIndex);
    }

    internal void BeforeLogReset(SimNode node, ILogView log, long snapshotIndex) =>
        _durability.BeforeReset(node.Id, log, snapshotIndex);

    internal void BeforeDurableSave(SimNode node, HardState previous, HardState next)
    {
        ElectionSafetyInvariant.ObserveDurableHardState(node.Id, previous, next);
        MonotonicCommitInvariant.ObserveDurableHardState(node.Id, previous, next);
    }

    /// <summary>A snapshot is about to become durable on <paramref name="node"/>, taken there or received from a leader.</summary>
    internal void BeforeSnapshotSaved(SimNode node, SnapshotMetadata metadata, byte[] data)
    {
        _committed.CheckSnapshot(node.Id, metadata);
        _snapshotStates.Observe(metadata.Index, data, $"{node.Id}'s snapshot {metadata.Index}/{metadata.Term}");
    }

    internal void OnEntriesReadBack(int count) => _features.EntriesReadBack += count;

    internal void OnSnapshotTaken(SimNode node, SnapshotMetadata metadata, bool aheadOfOwnLog)
    {
        _features.SnapshotsTaken++;
        _features.SnapshotsAheadOfOwnLog += aheadOfOwnLog ? 1 : 0;
        Trace($"{node.Id} took snapshot {metadata.Index}/{metadata.Term} ({metadata.Configuration}){(aheadOfOwnLog ? $", past the end of its durable log ({node.Log.LastIndex})" : string.Empty)}");
    }

    internal void OnWriteInFlight(SimNode node, Ready ready, long latency, bool leading)
    {
        if (leading)
        {
            _features.WritesInFlight++;
            _features.NewLeaderWritesInFlight += ready.SoftState is null ? 0 : 1;
            Trace($"{node.Id} appends {ready.Entries[0].Index}..{ready.Entries[^1].Index} in {SimulationTrace.FormatTime(latency)}, stepping acknowledgements meanwhile");
        }
        else
        {
            _features.FollowerWritesInFlight++;
            Trace($"{node.Id} appends {ready.Entries[0].Index}..{ready.Entries[^1].Index} in {SimulationTrace.FormatTime(latency)}, answering heartbeats meanwhile");
        }
    }

    internal void OnHeartbeatWhileWriting(SimNode node)
    {
        _features.HeartbeatsWhileWriting++;
        Trace($"{node.Id} heartbeats while its append runs");
    }

    internal void OnHeartbeatAnsweredWhileWriting(SimNode node, Message heartbeat)
    {
        _features.HeartbeatsAnsweredWhileWriting++;
        Trace($"{node.Id} answers {heartbeat.From}'s heartbeat while its append runs");
    }

    internal void OnAppliedWhileWriting(bool aheadOfOwnLog)
    {
        _features.AppliedWhileWriting++;
        _features.AppliedAheadOfOwnLog += aheadOfOwnLog ? 1 : 0;
    }

    internal void OnProposedWhileWriting(SimNode node, long index)
    {
        _features.ProposedWhileWriting++;
        Trace($"{node.Id} takes a proposal at {index} while its append runs");
    }

    internal void OnAppliedProposedWhileWriting(bool aheadOfOwnLog) => _features.CommittedBeforeOwnWrite += aheadOfOwnLog ? 1 : 0;

    internal void OnStoppedWhileWriting(SimNode node, IReadOnlyList<Entry> entries, bool landed, string reason)
    {
        _features.StoppedWhileWriting++;
        Trace($"{node.Id}'s append of {entries[0].Index}..{entries[^1].Index}, in flight when it stopped ({reason}), {(landed ? "reached the disk" : "was lost")}");
    }

    internal void OnLogEndedBeforeSnapshot(SimNode node, SnapshotMetadata snapshot, bool tookItPastItsLog)
    {
        _features.RestartsWithOwnSnapshotPastLog += tookItPastItsLog ? 1 : 0;
        Trace(
            $"{node.Id} recovery: its log ends at {node.Log.LastIndex}, before its snapshot through {snapshot.Index}/{snapshot.Term} " +
            $"({(tookItPastItsLog ? "taken while leading, past its own durable log" : "received from a leader")}); log reset to start after it");
    }

    internal void OnSnapshotInstalled(SimNode node, SnapshotMetadata metadata)
    {
        _features.SnapshotsInstalled++;
        _stateMachineSafety.ObserveStart(node.Id, metadata.Index);
        Trace($"{node.Id} installed snapshot {metadata.Index}/{metadata.Term} ({metadata.Configuration})");
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

    /// <summary>After each apply: where some snapshot exists at this index, the state applied one entry at a time must equal it.</summary>
    internal void OnAppliedState(SimNode node)
    {
        var index = node.AppliedIndex;
        if (!_snapshotStates.HasState(index))
        {
            return;
        }

        using var data = new MemoryStream();
        var written = node.StateMachine.WriteSnapshotAsync(data);
        if (!written.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("KvStateMachine.WriteSnapshotAsync did not complete synchronously.");
        }

        _snapshotStates.Observe(index, data.GetBuffer().AsSpan(0, (int)data.Length), $"{node.Id}'s state machine at applied index {index}");
    }

    /// <summary>What the run exercised beyond the basics, for the result and the coverage self-test.</summary>
    private struct FeatureStats
    {
        public int SnapshotsTaken;
        public int SnapshotsInstalled;
        public int Transfers;
        public int IndexReads;
        public int WritesInFlight;
        public int FollowerWritesInFlight;
        public int HeartbeatsAnsweredWhileWriting;
        public int HeartbeatsWhileWriting;
        public int NewLeaderWritesInFlight;
        public int AppliedWhileWriting;
        public int AppliedAheadOfOwnLog;
        public int SnapshotsAheadOfOwnLog;
        public int StoppedWhileWriting;
        public int ProposedWhileWriting;
        public int CommittedBeforeOwnWrite;
        public int RestartsWithOwnSnapshotPastLog;
        public long EntriesReadBack;
        public int LeaderHeldEntries;
    }
}
