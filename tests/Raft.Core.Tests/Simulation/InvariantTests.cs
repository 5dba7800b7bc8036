using Raft.Core.Messages;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Core.Tests.Simulation;

/// <summary>Each invariant of the simulator, fed a crafted violation, must fire (and stay quiet on legal histories).</summary>
public sealed class InvariantTests
{
    [Fact]
    public void ElectionSafety_TwoLeadersInOneTerm_Throws()
    {
        var invariant = new ElectionSafetyInvariant();
        invariant.ObserveLeader("n1", 3);
        invariant.ObserveLeader("n1", 3);
        invariant.ObserveLeader("n2", 4);

        var violation = Assert.Throws<InvariantViolationException>(() => invariant.ObserveLeader("n3", 3));

        Assert.Equal(ElectionSafetyInvariant.Name, violation.Invariant);
        Assert.Contains("term 3", violation.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ElectionSafety_DurableVoteChangedWithinTerm_Throws()
    {
        ElectionSafetyInvariant.ObserveDurableHardState("n1", new HardState(2, null, 0), new HardState(2, "n2", 0));
        ElectionSafetyInvariant.ObserveDurableHardState("n1", new HardState(2, "n2", 0), new HardState(3, "n3", 0));

        Assert.Throws<InvariantViolationException>(() =>
            ElectionSafetyInvariant.ObserveDurableHardState("n1", new HardState(2, "n2", 0), new HardState(2, "n3", 0)));
        Assert.Throws<InvariantViolationException>(() =>
            ElectionSafetyInvariant.ObserveDurableHardState("n1", new HardState(3, null, 0), new HardState(2, null, 0)));
    }

    [Fact]
    public void LogMatching_SameIndexAndTermWithOtherContent_Throws()
    {
        var invariant = new LogMatchingInvariant();
        invariant.ObserveWrite("n1", [E(1, 1, "a"), E(2, 1, "b")], 1);

        var violation = Assert.Throws<InvariantViolationException>(() => invariant.ObserveWrite("n2", [E(1, 1, "a"), E(2, 1, "X")], 1));

        Assert.Equal(LogMatchingInvariant.Name, violation.Invariant);
    }

    [Fact]
    public void LogMatching_SameEntryAfterDifferentPredecessor_Throws()
    {
        var invariant = new LogMatchingInvariant();
        invariant.ObserveWrite("n1", [E(1, 1, "a"), E(2, 2, "b")], 1);

        // n2 holds the same entry 2/2, but after an entry of another term: the logs would differ before a match.
        Assert.Throws<InvariantViolationException>(() => invariant.ObserveWrite("n2", [E(1, 2, "z"), E(2, 2, "b")], 1));
    }

    [Fact]
    public void LogMatching_DivergentSuffixesAfterACommonPrefix_AreLegal()
    {
        var invariant = new LogMatchingInvariant();
        invariant.ObserveWrite("n1", [E(1, 1, "a"), E(2, 2, "b")], 1);
        invariant.ObserveWrite("n2", [E(1, 1, "a"), E(2, 3, "c")], 1);

        LogMatchingInvariant.CheckAll([("n1", [E(1, 1, "a"), E(2, 2, "b")]), ("n2", [E(1, 1, "a"), E(2, 3, "c")])]);
    }

    [Fact]
    public void LogMatching_CheckAll_LogsAgreeingAtAnIndexButNotBefore_Throws()
    {
        Assert.Throws<InvariantViolationException>(() =>
            LogMatchingInvariant.CheckAll([("n1", [E(1, 1, "a"), E(2, 2, "b")]), ("n2", [E(1, 1, "X"), E(2, 2, "b")])]));
    }

    [Fact]
    public void StateMachineSafety_DifferentEntriesAppliedAtOneIndex_Throws()
    {
        var invariant = new StateMachineSafetyInvariant();
        invariant.ObserveStart("n1");
        invariant.ObserveStart("n2");
        Assert.True(invariant.ObserveApply("n1", E(1, 1, "a")));
        Assert.False(invariant.ObserveApply("n2", E(1, 1, "a")));

        invariant.ObserveApply("n2", E(2, 2, "x"));
        var violation = Assert.Throws<InvariantViolationException>(() => invariant.ObserveApply("n1", E(2, 1, "y")));

        Assert.Equal(StateMachineSafetyInvariant.Name, violation.Invariant);
    }

    [Fact]
    public void StateMachineSafety_AppliedOutOfOrder_Throws()
    {
        var invariant = new StateMachineSafetyInvariant();
        invariant.ObserveStart("n1");

        Assert.Throws<InvariantViolationException>(() => invariant.ObserveApply("n1", E(2, 1, "b")));
    }

    [Fact]
    public void StateMachineSafety_RestartedNode_AppliesFromTheStartAgain()
    {
        var invariant = new StateMachineSafetyInvariant();
        invariant.ObserveStart("n1");
        invariant.ObserveApply("n1", E(1, 1, "a"));
        invariant.ObserveStart("n1");

        Assert.False(invariant.ObserveApply("n1", E(1, 1, "a")));
    }

    [Fact]
    public void CommittedLog_TwoNodesCommittingDifferentEntries_Throws()
    {
        var committed = new CommittedLog();
        committed.Learn("n1", 1, [E(1, 1, "a")], 1);

        Assert.Throws<InvariantViolationException>(() => committed.Learn("n2", 2, [E(1, 2, "b")], 1));
    }

    [Fact]
    public void LeaderCompleteness_LeaderOfALaterTermMissingACommittedEntry_Throws()
    {
        var committed = new CommittedLog();
        committed.Learn("n1", 1, [E(1, 1, "a"), E(2, 1, "b")], 2);
        var invariant = new LeaderCompletenessInvariant(committed);

        // A leader of the same term need not hold what was committed in it later; a leader of term 2 must.
        invariant.ObserveLeader("n2", 1, [E(1, 1, "a")]);
        var violation = Assert.Throws<InvariantViolationException>(() => invariant.ObserveLeader("n3", 2, [E(1, 1, "a"), E(2, 2, "c")]));

        Assert.Equal(LeaderCompletenessInvariant.Name, violation.Invariant);
    }

    [Fact]
    public void MonotonicCommit_CommitGoingBackWithinOneIncarnation_Throws()
    {
        var invariant = new MonotonicCommitInvariant();
        invariant.ObserveCommit("n1", 0, 5);
        invariant.ObserveCommit("n1", 1, 3);

        Assert.Throws<InvariantViolationException>(() => invariant.ObserveCommit("n1", 1, 2));
        Assert.Throws<InvariantViolationException>(() =>
            MonotonicCommitInvariant.ObserveDurableHardState("n1", new HardState(1, null, 5), new HardState(1, null, 4)));
    }

    [Fact]
    public void CommittedEntriesDurable_NodeOverwritingACommittedEntry_Throws()
    {
        var committed = new CommittedLog();
        var n1 = new List<Entry> { E(1, 1, "a") };
        var n2 = new List<Entry> { E(1, 1, "a") };
        var n3 = new List<Entry>();
        var invariant = new CommittedEntriesDurableInvariant(committed, [("n1", n1), ("n2", n2), ("n3", n3)]);
        committed.Learn("n1", 1, n1, 1);
        invariant.CheckFrom(1);

        var violation = Assert.Throws<InvariantViolationException>(() => invariant.BeforeWrite("n2", n2, [E(1, 2, "b")]));

        Assert.Equal(CommittedEntriesDurableInvariant.Name, violation.Invariant);
    }

    [Fact]
    public void CommittedEntriesDurable_CommittedEntryOnAMinority_Throws()
    {
        var committed = new CommittedLog();
        var n1 = new List<Entry> { E(1, 1, "a") };
        var invariant = new CommittedEntriesDurableInvariant(committed, [("n1", n1), ("n2", []), ("n3", [])]);
        committed.Learn("n1", 1, n1, 1);

        Assert.Throws<InvariantViolationException>(() => invariant.CheckFrom(1));
    }

    private static Entry E(long index, long term, string data) =>
        new(index, term, EntryType.Normal, System.Text.Encoding.UTF8.GetBytes(data));
}
