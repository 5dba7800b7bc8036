using Raft.Core.Membership;
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
        invariant.ObserveWrite("n1", L(E(1, 1, "a"), E(2, 1, "b")), 1);

        var violation = Assert.Throws<InvariantViolationException>(() => invariant.ObserveWrite("n2", L(E(1, 1, "a"), E(2, 1, "X")), 1));

        Assert.Equal(LogMatchingInvariant.Name, violation.Invariant);
    }

    [Fact]
    public void LogMatching_SameEntryAfterDifferentPredecessor_Throws()
    {
        var invariant = new LogMatchingInvariant();
        invariant.ObserveWrite("n1", L(E(1, 1, "a"), E(2, 2, "b")), 1);

        // n2 holds the same entry 2/2, but after an entry of another term: the logs would differ before a match.
        Assert.Throws<InvariantViolationException>(() => invariant.ObserveWrite("n2", L(E(1, 2, "z"), E(2, 2, "b")), 1));
    }

    [Fact]
    public void LogMatching_DivergentSuffixesAfterACommonPrefix_AreLegal()
    {
        var invariant = new LogMatchingInvariant();
        invariant.ObserveWrite("n1", L(E(1, 1, "a"), E(2, 2, "b")), 1);
        invariant.ObserveWrite("n2", L(E(1, 1, "a"), E(2, 3, "c")), 1);

        LogMatchingInvariant.CheckAll([("n1", L(E(1, 1, "a"), E(2, 2, "b"))), ("n2", L(E(1, 1, "a"), E(2, 3, "c")))]);
    }

    [Fact]
    public void LogMatching_CheckAll_LogsAgreeingAtAnIndexButNotBefore_Throws()
    {
        Assert.Throws<InvariantViolationException>(() =>
            LogMatchingInvariant.CheckAll([("n1", L(E(1, 1, "a"), E(2, 2, "b"))), ("n2", L(E(1, 1, "X"), E(2, 2, "b")))]));
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
        committed.Learn("n1", 1, L(E(1, 1, "a")), 1);

        Assert.Throws<InvariantViolationException>(() => committed.Learn("n2", 2, L(E(1, 2, "b")), 1));
    }

    [Fact]
    public void LeaderCompleteness_LeaderOfALaterTermMissingACommittedEntry_Throws()
    {
        var committed = new CommittedLog();
        committed.Learn("n1", 1, L(E(1, 1, "a"), E(2, 1, "b")), 2);
        var invariant = new LeaderCompletenessInvariant(committed);

        // A leader of the same term need not hold what was committed in it later; a leader of term 2 must.
        invariant.ObserveLeader("n2", 1, L(E(1, 1, "a")));
        var violation = Assert.Throws<InvariantViolationException>(() => invariant.ObserveLeader("n3", 2, L(E(1, 1, "a"), E(2, 2, "c"))));

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

    // Index 1 holds a, committed in term 3 (a node of term 3 saw it committed); n2 still holds it and is told to write b
    // of term 2 over it.
    [Theory]
    [InlineData(1, 2)] // n2 knew index 1 committed when it took the ready
    [InlineData(0, 3)] // n2 took b in term 3: the leader of term 3 and every later one hold a, so none sends b there
    [InlineData(0, 4)]
    public void CommittedEntriesDurable_NodeOverwritingACommittedEntryItKnewOrWhoseLeadersHoldIt_Throws(long commitIndex, long term)
    {
        var (invariant, n2) = CommittedInTermThreeOnAMajority();

        var violation = Assert.Throws<InvariantViolationException>(
            () => invariant.BeforeWrite("n2", LogViews.Of(n2), [E(1, 2, "b")], new WriteDecision(commitIndex, term)));

        Assert.Equal(CommittedEntriesDurableInvariant.Name, violation.Invariant);
    }

    [Fact]
    public void CommittedEntriesDurable_NodeOverwritingACommittedEntryOnAnOlderLeadersWord_IsLegal()
    {
        // Thesis §3.6: n2, still in term 2 and not knowing index 1 committed, takes the leader of term 2's b (that leader
        // was elected before a was committed in term 3). The write is legal; a majority (n1, n3) still holds a.
        var (invariant, n2) = CommittedInTermThreeOnAMajority();

        invariant.BeforeWrite("n2", LogViews.Of(n2), [E(1, 2, "b")], new WriteDecision(CommitIndex: 0, Term: 2));
        n2[0] = E(1, 2, "b");
        invariant.CheckFrom(1);
    }

    [Fact]
    public void CommittedEntriesDurable_DroppingACommittedEntryTheNodeKnew_Throws()
    {
        var committed = new CommittedLog();
        var n1 = new List<Entry> { E(1, 1, "a"), E(2, 1, "c") };
        var n2 = new List<Entry> { E(1, 1, "a"), E(2, 1, "c") };
        var invariant = new CommittedEntriesDurableInvariant(committed, Voters(("n1", n1), ("n2", n2), ("n3", [])));
        committed.Learn("n1", 1, LogViews.Of(n1), 2);

        var violation = Assert.Throws<InvariantViolationException>(
            () => invariant.BeforeWrite("n2", LogViews.Of(n2), [E(1, 1, "a")], new WriteDecision(CommitIndex: 2, Term: 1)));

        Assert.Contains("drops the committed entry", violation.Message, StringComparison.Ordinal);
    }

    private static (CommittedEntriesDurableInvariant Invariant, List<Entry> N2) CommittedInTermThreeOnAMajority()
    {
        var committed = new CommittedLog();
        var n1 = new List<Entry> { E(1, 1, "a") };
        var n2 = new List<Entry> { E(1, 1, "a") };
        var n3 = new List<Entry> { E(1, 1, "a") };
        var invariant = new CommittedEntriesDurableInvariant(committed, Voters(("n1", n1), ("n2", n2), ("n3", n3)));
        committed.Learn("n1", 3, LogViews.Of(n1), 1);
        invariant.CheckFrom(1);
        return (invariant, n2);
    }

    [Fact]
    public void CommittedEntriesDurable_CommittedEntryOnAMinority_Throws()
    {
        var committed = new CommittedLog();
        var n1 = new List<Entry> { E(1, 1, "a") };
        var invariant = new CommittedEntriesDurableInvariant(committed, Voters(("n1", n1), ("n2", []), ("n3", [])));
        committed.Learn("n1", 1, LogViews.Of(n1), 1);

        Assert.Throws<InvariantViolationException>(() => invariant.CheckFrom(1));
    }

    [Fact]
    public void CommittedEntriesDurable_EntryCoveredBySnapshots_CountsAsHeld()
    {
        var committed = new CommittedLog();
        var n1 = new List<Entry> { E(1, 1, "a"), E(2, 1, "b") };
        committed.Learn("n1", 1, LogViews.Of(n1), 2);

        // n2 and n3 compacted entry 1 into their snapshots; n3 also holds nothing of entry 2 but its snapshot covers it.
        var invariant = new CommittedEntriesDurableInvariant(committed, [
            new DurableReplica("n1", LogViews.Of(n1)),
            new DurableReplica("n2", LogViews.Of([E(2, 1, "b")], 1, 1), SnapshotIndex: 1),
            new DurableReplica("n3", LogViews.Of([], 2, 1), SnapshotIndex: 2),
        ]);

        invariant.CheckFrom(1);
    }

    [Fact]
    public void CommittedEntriesDurable_EvenElectorate_HalfHoldingSuffices()
    {
        var committed = new CommittedLog();
        var held = new List<Entry> { E(1, 1, "a") };
        committed.Learn("n1", 1, LogViews.Of(held), 1);
        var two = new CommittedEntriesDurableInvariant(committed, Voters(("n1", held), ("n2", held), ("n3", []), ("n4", [])));
        var one = new CommittedEntriesDurableInvariant(committed, Voters(("n1", held), ("n2", []), ("n3", []), ("n4", [])));

        // Four voters, two without the entry: they cannot elect a leader alone. Three without it could.
        two.CheckFrom(1);
        Assert.Throws<InvariantViolationException>(() => one.CheckFrom(1));
    }

    [Fact]
    public void CommittedEntriesDurable_CompactionBeyondTheSnapshot_Throws()
    {
        CommittedEntriesDurableInvariant.BeforeCompact("n1", 5, 5);

        Assert.Throws<InvariantViolationException>(() => CommittedEntriesDurableInvariant.BeforeCompact("n1", 6, 5));
    }

    [Fact]
    public void CommittedEntriesDurable_ResetDroppingACommittedEntryPastTheSnapshot_Throws()
    {
        var committed = new CommittedLog();
        var n1 = new List<Entry> { E(1, 1, "a"), E(2, 1, "b"), E(3, 1, "c") };
        committed.Learn("n1", 1, LogViews.Of(n1), 3);
        var invariant = new CommittedEntriesDurableInvariant(committed, Voters(("n1", n1)));

        invariant.BeforeReset("n1", LogViews.Of(n1), 3);
        Assert.Throws<InvariantViolationException>(() => invariant.BeforeReset("n1", LogViews.Of(n1), 2));
    }

    [Fact]
    public void LogMatching_FirstEntryAfterACompactedBase_IsCheckedAgainstTheBaseTerm()
    {
        var invariant = new LogMatchingInvariant();
        invariant.ObserveWrite("n1", L(E(1, 1, "a"), E(2, 2, "b"), E(3, 2, "c")), 1);
        invariant.ObserveWrite("n2", LogViews.Of([E(3, 2, "c")], 2, 2), 3);

        // The same entry 3/2 after a base of term 1 at index 2: the logs would differ before a match.
        Assert.Throws<InvariantViolationException>(() => invariant.ObserveWrite("n3", LogViews.Of([E(3, 2, "c")], 2, 1), 3));
    }

    [Fact]
    public void LogMatching_CheckAll_ComparesOnlyTheRangeBothLogsHold()
    {
        LogMatchingInvariant.CheckAll([("n1", L(E(1, 1, "a"), E(2, 2, "b"))), ("n2", LogViews.Of([E(2, 2, "b"), E(3, 2, "c")], 1, 1))]);

        Assert.Throws<InvariantViolationException>(() =>
            LogMatchingInvariant.CheckAll([("n1", L(E(1, 1, "a"), E(2, 1, "x"), E(3, 2, "c"))), ("n2", LogViews.Of([E(2, 1, "y"), E(3, 2, "c")], 1, 1))]));
    }

    [Fact]
    public void CommittedLog_SnapshotDisagreeingWithTheCommittedLog_Throws()
    {
        var voters = new ClusterConfiguration(["n1", "n2", "n3"]);
        var committed = new CommittedLog(voters);
        committed.Learn("n1", 2, L(E(1, 1, "a"), E(2, 2, "b")), 2);

        committed.CheckSnapshot("n1", new SnapshotMetadata(2, 2, voters));
        Assert.Throws<InvariantViolationException>(() => committed.CheckSnapshot("n2", new SnapshotMetadata(2, 1, voters)));
        Assert.Throws<InvariantViolationException>(() => committed.CheckSnapshot("n2", new SnapshotMetadata(3, 2, voters)));
        Assert.Throws<InvariantViolationException>(() => committed.CheckSnapshot("n2", new SnapshotMetadata(2, 2, new ClusterConfiguration(["n1", "n2"]))));
    }

    [Fact]
    public void CommittedLog_CommittedConfigurationEntries_AreTracked()
    {
        var committed = new CommittedLog(new ClusterConfiguration(["n1", "n2", "n3"]));
        var grown = new ClusterConfiguration(["n1", "n2", "n3"], ["n4"]);
        committed.Learn("n1", 1, L(E(1, 1, "a"), new Entry(2, 1, EntryType.ConfigChange, grown.Encode()), E(3, 1, "b")), 3);

        Assert.Equal(grown, committed.Configuration);
        Assert.Equal(new ClusterConfiguration(["n1", "n2", "n3"]), committed.ConfigurationAt(1));
        Assert.Equal(1, committed.ConfigurationChanges);
    }

    [Fact]
    public void CommittedLog_CommitCoveredOnlyByASnapshotNobodyCommitted_Throws()
    {
        var committed = new CommittedLog();

        Assert.Throws<InvariantViolationException>(() => committed.Learn("n1", 1, LogViews.Of([], 5, 1), 5));
    }

    [Fact]
    public void SingleConfigurationChange_TwoUncommittedChangesOnALeader_Throws()
    {
        var log = L(E(1, 1, "a"), Change(2), E(3, 1, "b"), Change(4));

        // One change beyond the committed index is allowed; two are not.
        new SingleConfigurationChangeInvariant().ObserveLeader("n1", 1, log, 2);
        var violation = Assert.Throws<InvariantViolationException>(() => new SingleConfigurationChangeInvariant().ObserveLeader("n1", 1, log, 1));

        Assert.Equal(SingleConfigurationChangeInvariant.Name, violation.Invariant);
    }

    [Fact]
    public void SingleConfigurationChange_SecondChangeAppendedAfterAnEarlierCheck_Throws()
    {
        var entries = new List<Entry> { E(1, 1, "a"), Change(2) };
        var log = LogViews.Of(entries);
        var invariant = new SingleConfigurationChangeInvariant();
        invariant.ObserveLeader("n1", 1, log, 1);

        entries.Add(E(3, 1, "b"));
        invariant.ObserveLeader("n1", 1, log, 1);
        entries.Add(Change(4));

        Assert.Throws<InvariantViolationException>(() => invariant.ObserveLeader("n1", 1, log, 1));
    }

    [Fact]
    public void SingleConfigurationChange_NextChangeOnceTheLastCommitted_PassesUntilASecondIsPending()
    {
        var entries = new List<Entry> { E(1, 1, "a"), Change(2) };
        var log = LogViews.Of(entries);
        var invariant = new SingleConfigurationChangeInvariant();
        invariant.ObserveLeader("n1", 1, log, 1);

        entries.Add(Change(3));
        invariant.ObserveLeader("n1", 1, log, 2);
        entries.Add(Change(4));

        Assert.Throws<InvariantViolationException>(() => invariant.ObserveLeader("n1", 1, log, 2));
    }

    [Fact]
    public void SingleConfigurationChange_LogRewrittenUnderAnEarlierCheck_ScansAgain()
    {
        var entries = new List<Entry> { E(1, 1, "a"), E(2, 1, "b"), E(3, 1, "c") };
        var log = LogViews.Of(entries);
        var invariant = new SingleConfigurationChangeInvariant();
        invariant.ObserveLeader("n1", 1, log, 1);

        // Not something a correct leader does; the check must still see both changes rather than trust its old scan.
        entries[1] = Change(2);
        entries[2] = Change(3);

        Assert.Throws<InvariantViolationException>(() => invariant.ObserveLeader("n1", 1, log, 1));
    }

    [Fact]
    public void SnapshotState_DifferentStatesAtOneIndex_Throws()
    {
        var invariant = new SnapshotStateInvariant();
        invariant.Observe(5, [1, 2, 3], "n1's snapshot");
        invariant.Observe(5, [1, 2, 3], "n2's state machine");

        Assert.True(invariant.HasState(5));
        Assert.False(invariant.HasState(6));
        Assert.Throws<InvariantViolationException>(() => invariant.Observe(5, [1, 2, 4], "n3's snapshot"));
    }

    [Fact]
    public void ReadIndex_ReadBehindAnEarlierCommitOrAheadOfApply_Throws()
    {
        ReadIndexInvariant.ObserveServe("n1", readIndex: 7, committedAtStart: 7, applied: 9);

        Assert.Throws<InvariantViolationException>(() => ReadIndexInvariant.ObserveServe("n1", readIndex: 6, committedAtStart: 7, applied: 9));
        Assert.Throws<InvariantViolationException>(() => ReadIndexInvariant.ObserveServe("n1", readIndex: 8, committedAtStart: 7, applied: 7));
    }

    private static Entry E(long index, long term, string data) =>
        new(index, term, EntryType.Normal, System.Text.Encoding.UTF8.GetBytes(data));

    private static ILogView L(params Entry[] entries) => LogViews.Of(entries);

    // A configuration entry (adding learner n4) at index in term 1.
    private static Entry Change(long index) =>
        new(index, 1, EntryType.ConfigChange, new ClusterConfiguration(["n1", "n2", "n3"], ["n4"]).Encode());

    private static IDurableReplica[] Voters(params (string NodeId, List<Entry> Log)[] voters) =>
        voters.Select(voter => (IDurableReplica)new DurableReplica(voter.NodeId, LogViews.Of(voter.Log))).ToArray();
}
