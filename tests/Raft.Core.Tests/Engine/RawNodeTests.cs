using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Tests.Engine;

/// <summary>What the engine emits, asserted on its Ready and messages (never on private fields).</summary>
public sealed class RawNodeTests
{
    private static RaftOptions Options(string id, params string[] voters) =>
        new() { Id = id, Voters = voters.Length == 0 ? [id] : voters, RandomSeed = 7 };

    private static Ready Drain(RawNode node)
    {
        var ready = node.GetReady();
        node.Advance(ready);
        return ready;
    }

    [Fact]
    public void SingleVoter_AfterElectionTimeout_BecomesLeaderAndCommitsItsNoOp()
    {
        var node = new RawNode(Options("a"));
        for (var i = 0; i < 20 && node.Status.Role != StateRole.Leader; i++)
        {
            node.Tick();
        }

        Assert.Equal(StateRole.Leader, node.Status.Role);
        var first = Drain(node);
        Assert.Equal(new HardState(1, "a", 0), first.HardState);
        Assert.Equal(EntryType.NoOp, Assert.Single(first.Entries).Type);

        // The leader counts its own entry only once Advance said it is durable; then it commits.
        var second = Drain(node);
        Assert.Equal(1, second.HardState!.Value.Commit);
        Assert.Equal(EntryType.NoOp, Assert.Single(second.CommittedEntries).Type);
    }

    [Fact]
    public void Propose_OnFollower_ReturnsNotLeaderWithTheKnownLeader()
    {
        var node = new RawNode(Options("b", "a", "b", "c"));
        node.Step(new Message { Type = MessageType.Heartbeat, From = "a", To = "b", Term = 3 });

        var outcome = node.Propose(new byte[] { 1 });

        Assert.Equal(ProposeStatus.NotLeader, outcome.Status);
        Assert.Equal("a", outcome.LeaderHint);
    }

    [Fact]
    public void Propose_LargerThanMaxEntrySize_IsRejectedWithAClearError()
    {
        var node = new RawNode(Options("a") with { MaxEntrySize = 4 });
        var error = Assert.Throws<ArgumentException>(() => node.Propose(new byte[5]));
        Assert.Contains("MaxEntrySize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VoteGrant_LeavesOnlyAfterTheVoteIsPersisted()
    {
        // §5.2: a node must not forget its vote in a crash; the grant waits for the hard state to be durable.
        var node = new RawNode(Options("b", "a", "b", "c"));
        node.Step(new Message { Type = MessageType.Vote, From = "a", To = "b", Term = 1, Index = 0, LogTerm = 0 });

        var ready = node.GetReady();

        Assert.Equal(new HardState(1, "a", 0), ready.HardState);
        Assert.Empty(ready.Messages);
        var grant = Assert.Single(ready.PersistedMessages);
        Assert.Equal(MessageType.VoteResponse, grant.Type);
        Assert.False(grant.Reject);
    }

    [Fact]
    public void VoteRequestOfALowerTerm_IsRejectedWithTheCurrentTerm()
    {
        // Figure 2, RequestVote: "reply false if term < currentTerm", with currentTerm "for candidate to update itself".
        // A candidate that never hears the term it must beat can campaign below it forever (simulator seed 1048).
        var node = new RawNode(Options("b", "a", "b", "c"));
        node.Step(new Message { Type = MessageType.Heartbeat, From = "a", To = "b", Term = 3 });
        Drain(node);

        node.Step(new Message { Type = MessageType.Vote, From = "c", To = "b", Term = 2, Index = 5, LogTerm = 2 });
        var ready = Drain(node);

        var reply = Assert.Single(ready.Messages.Concat(ready.PersistedMessages));
        Assert.Equal(MessageType.VoteResponse, reply.Type);
        Assert.Equal("c", reply.To);
        Assert.Equal(3, reply.Term);
        Assert.True(reply.Reject);

        var candidate = new RawNode(Options("c", "a", "b", "c"));
        candidate.Campaign();
        Drain(candidate);
        candidate.Step(reply with { Term = 3 });
        Assert.Equal(StateRole.Follower, candidate.Status.Role);
        Assert.Equal(3, candidate.Status.Term);
    }

    [Fact]
    public void AppendAcknowledgement_LeavesOnlyAfterTheEntriesArePersisted()
    {
        var node = new RawNode(Options("b", "a", "b", "c"));
        var entry = new Entry(1, 1, EntryType.Normal, new byte[] { 42 });
        node.Step(new Message { Type = MessageType.AppendEntries, From = "a", To = "b", Term = 1, Index = 0, LogTerm = 0, Entries = [entry], Commit = 0 });

        var ready = node.GetReady();

        Assert.Equal([entry], ready.Entries);
        Assert.Empty(ready.Messages);
        var ack = Assert.Single(ready.PersistedMessages);
        Assert.Equal(MessageType.AppendEntriesResponse, ack.Type);
        Assert.Equal(1, ack.Index);
    }

    [Fact]
    public void LeaderAppends_MaySendBeforeTheLeadersOwnWrite()
    {
        // Thesis §10.2.1: the leader writes its log in parallel with replicating it.
        var node = ElectedLeaderOfThree();
        node.Propose(new byte[] { 1 });
        node.Propose(new byte[] { 2 });

        var ready = node.GetReady();

        Assert.Equal(2, ready.Entries.Count);
        Assert.Equal(2, ready.Messages.Count);
        Assert.All(ready.Messages, m =>
        {
            Assert.Equal(MessageType.AppendEntries, m.Type);
            Assert.Equal(2, m.Entries.Count); // both proposals of the iteration travel in one append (batching)
        });
    }

    [Fact]
    public void Pipelining_WithMinPipelinedAppendBytesZero_SendsEveryBatchWithoutWaitingForAcknowledgements()
    {
        var node = ElectedLeaderOfThree(minPipelinedAppendBytes: 0);
        for (var i = 0; i < 3; i++)
        {
            node.Propose(new byte[] { (byte)i });
            var ready = Drain(node);
            Assert.Equal(2, ready.Messages.Count(m => m.Type == MessageType.AppendEntries));
        }
    }

    [Fact]
    public void Inflight_WhenTheWindowIsFull_StopsSendingUntilAcknowledged()
    {
        var node = ElectedLeaderOfThree(maxInflight: 2, minPipelinedAppendBytes: 0);
        var sentToB = 0;
        for (var i = 0; i < 5; i++)
        {
            node.Propose(new byte[] { (byte)i });
            sentToB += Drain(node).Messages.Count(m => m.To == "b" && m.Type == MessageType.AppendEntries);
        }

        Assert.Equal(2, sentToB);
    }

    [Fact]
    public void TakeCommittedEntries_OnALeaderWhoseOwnWriteRuns_HandsOutWhatItsFollowersCommitted_Once()
    {
        // Thesis §10.2.1: the followers' two durable copies commit the entry; the leader's own is not needed.
        var node = ElectedLeaderOfThree();
        node.Propose(new byte[] { 7 });
        var ready = node.GetReady();
        var index = Assert.Single(ready.Entries).Index;

        node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "b", To = "a", Term = 1, Index = index });
        Assert.Empty(node.TakeCommittedEntries()); // one follower and an undurable leader are not a majority
        node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "c", To = "a", Term = 1, Index = index });
        var committed = node.TakeCommittedEntries();

        Assert.Equal(index, Assert.Single(committed).Index);
        node.Advance(ready);
        Assert.DoesNotContain(Drain(node).CommittedEntries, e => e.Index == index);
    }

    [Fact]
    public void TakeCommittedEntries_OnAFollower_HandsOutNothing()
    {
        var node = new RawNode(Options("b", "a", "b", "c"));
        var entry = new Entry(1, 1, EntryType.Normal, new byte[] { 42 });
        node.Step(new Message { Type = MessageType.AppendEntries, From = "a", To = "b", Term = 1, Index = 0, LogTerm = 0, Entries = [entry], Commit = 1 });

        Assert.Empty(node.TakeCommittedEntries());
        Assert.Single(node.GetReady().CommittedEntries);
    }

    [Fact]
    public void TakeMessages_OnALeaderWhoseOwnWriteRuns_SendsANewProposalAtOnceToIdleFollowers_TheRestWithTheNextReady()
    {
        var node = ElectedLeaderOfThree(minPipelinedAppendBytes: 0);
        node.Propose(new byte[] { 1 });
        var ready = node.GetReady();
        var first = ready.Entries[0].Index;
        node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "b", To = "a", Term = 1, Index = first });

        node.Propose(new byte[] { 2 });
        var messages = node.TakeMessages();

        // b has acknowledged everything and waits; c is still writing entry `first`.
        var toB = Assert.Single(messages);
        Assert.Equal("b", toB.To);
        Assert.Equal(first + 1, Assert.Single(toB.Entries).Index);
        node.Advance(ready);
        var next = node.GetReady();
        Assert.Equal(first + 1, Assert.Single(next.Entries).Index); // written with the next ready
        Assert.DoesNotContain(next.Messages, m => m.To == "b" && m.Entries.Count > 0);
        Assert.Equal(first + 1, Assert.Single(next.Messages, m => m.To == "c" && m.Entries.Count > 0).Entries[0].Index);
    }

    [Fact]
    public void TakeMessages_OnAFollower_HandsOutNothing_ItsAcknowledgementWaitsForItsWrite()
    {
        var node = new RawNode(Options("b", "a", "b", "c"));
        var entry = new Entry(1, 1, EntryType.Normal, new byte[] { 42 });
        node.Step(new Message { Type = MessageType.AppendEntries, From = "a", To = "b", Term = 1, Index = 0, LogTerm = 0, Entries = [entry], Commit = 0 });

        Assert.Empty(node.TakeMessages());
        Assert.Single(node.GetReady().PersistedMessages);
    }

    // A heartbeat answer claims no entry and no vote, only that b heard from its leader in a term b already made
    // durable: it may leave while b's append runs; the acknowledgement of the entry waits for the write.
    [Fact]
    public void TakeMessages_OnAFollowerWhoseAppendRuns_HandsOutItsHeartbeatAnswer_NotItsAcknowledgement()
    {
        var node = new RawNode(Options("b", "a", "b", "c"));
        node.Step(new Message { Type = MessageType.Heartbeat, From = "a", To = "b", Term = 1, Index = 1 });
        Drain(node);
        var entry = new Entry(1, 1, EntryType.Normal, new byte[] { 42 });
        node.Step(new Message { Type = MessageType.AppendEntries, From = "a", To = "b", Term = 1, Index = 0, LogTerm = 0, Entries = [entry], Commit = 0 });
        var writing = node.GetReady();

        node.Step(new Message { Type = MessageType.Heartbeat, From = "a", To = "b", Term = 1, Index = 2 });
        var answer = Assert.Single(node.TakeMessages());

        Assert.Equal(MessageType.HeartbeatResponse, answer.Type);
        Assert.Equal(2, answer.Index);
        Assert.Equal(MessageType.AppendEntriesResponse, Assert.Single(writing.PersistedMessages).Type);
    }

    // The term b learned in the ready being written is not durable until that ready is advanced: an answer in it waits.
    [Fact]
    public void TakeMessages_OnAFollowerWhoseNewTermIsBeingWritten_KeepsItsHeartbeatAnswerForAfterTheWrite()
    {
        var node = new RawNode(Options("b", "a", "b", "c"));
        node.Step(new Message { Type = MessageType.Heartbeat, From = "a", To = "b", Term = 1, Index = 1 });
        var writing = node.GetReady();
        Assert.Equal(1, writing.HardState!.Value.Term);

        node.Step(new Message { Type = MessageType.Heartbeat, From = "a", To = "b", Term = 1, Index = 2 });

        Assert.Empty(node.TakeMessages());
        node.Advance(writing);
        Assert.Contains(node.GetReady().PersistedMessages, m => m.Type == MessageType.HeartbeatResponse && m.Index == 2);
    }

    [Fact]
    public void SmallBatches_WhileAnAppendIsInFlight_WaitForItsAcknowledgement_ThenGoOutInOneAppend()
    {
        var node = ElectedLeaderOfThree();
        var toB = new List<Message>();
        for (var i = 0; i < 3; i++)
        {
            node.Propose(new byte[] { (byte)i });
            toB.AddRange(Drain(node).Messages.Where(m => m.To == "b" && m.Type == MessageType.AppendEntries));
        }

        var first = Assert.Single(toB); // the second and third proposals wait behind the first append
        Assert.Equal(2, Assert.Single(first.Entries).Index);

        node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "b", To = "a", Term = 1, Index = 2 });
        var next = Assert.Single(Drain(node).Messages, m => m.To == "b" && m.Type == MessageType.AppendEntries);

        Assert.Equal([3L, 4L], next.Entries.Select(e => e.Index));
        Assert.Equal(2, next.Commit); // b's acknowledgement committed entry 2 (with the leader's own copy)
    }

    [Fact]
    public void ABatchOfAtLeastMinPipelinedAppendBytes_IsPipelinedBehindTheAppendInFlight()
    {
        var node = ElectedLeaderOfThree(minPipelinedAppendBytes: 100);
        node.Propose(new byte[] { 1 });
        Drain(node);

        node.Propose(new byte[60]); // an entry's size counts its data and 24 bytes of index, term and type
        var small = Drain(node).Messages.Count(m => m.To == "b" && m.Type == MessageType.AppendEntries);
        node.Propose(new byte[1]);
        var large = Assert.Single(Drain(node).Messages, m => m.To == "b" && m.Type == MessageType.AppendEntries);

        Assert.Equal(0, small); // 84 bytes wait
        Assert.Equal([3L, 4L], large.Entries.Select(e => e.Index)); // 109 bytes go, together
    }

    [Fact]
    public void CommitIndex_ForAFollowerWithAnAppendInFlight_GoesOutWhenItAcknowledges()
    {
        var node = ElectedLeaderOfThree();
        node.Propose(new byte[] { 1 });
        Drain(node); // entry 2 to b and c; the leader's own copy is durable

        node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "b", To = "a", Term = 1, Index = 2 });
        var commitBroadcast = Drain(node).Messages.Where(m => m.Type == MessageType.AppendEntries).ToList();
        node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "c", To = "a", Term = 1, Index = 2 });
        var toC = Assert.Single(Drain(node).Messages, m => m.To == "c" && m.Type == MessageType.AppendEntries);

        // Committed by b's answer: b is told at once; c, still writing entry 2, is told when it answers.
        Assert.Equal(2, Assert.Single(commitBroadcast, m => m.To == "b").Commit);
        Assert.DoesNotContain(commitBroadcast, m => m.To == "c");
        Assert.Empty(toC.Entries);
        Assert.Equal(2, toC.Commit);
    }

    [Fact]
    public void WaitingBatches_BehindALostAppend_AreReleasedByTheNextHeartbeatResponse()
    {
        var node = ElectedLeaderOfThree();
        node.Propose(new byte[] { 1 });
        Drain(node); // entry 2 to b: lost
        node.Propose(new byte[] { 2 });
        Assert.DoesNotContain(Drain(node).Messages, m => m.To == "b");

        node.Step(new Message { Type = MessageType.HeartbeatResponse, From = "b", To = "a", Term = 1 });
        var append = Assert.Single(Drain(node).Messages, m => m.To == "b" && m.Type == MessageType.AppendEntries);

        // Sent from where the lost append ended: b has a gap, rejects it, and the leader probes back (Figure 7).
        Assert.Equal(2, append.Index);
        Assert.Equal(3, Assert.Single(append.Entries).Index);
    }

    [Fact]
    public void Leader_WritesEntriesThatWaitForAFollowersAcknowledgement_WithTheBatchTheyLeaveIn()
    {
        var node = ElectedLeaderOfThree();
        node.Propose(new byte[] { 1 });
        Assert.Equal([2L], Drain(node).Entries.Select(e => e.Index)); // sent at once, written at once
        node.Propose(new byte[] { 2 });
        node.Propose(new byte[] { 3 });

        var waiting = Drain(node); // b and c are still writing entry 2: entries 3 and 4 wait, unsent and unwritten
        node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "b", To = "a", Term = 1, Index = 2 });
        var sent = Drain(node);

        Assert.Empty(waiting.Entries);
        Assert.Equal([3L, 4L], Assert.Single(sent.Messages, m => m.To == "b" && m.Entries.Count > 0).Entries.Select(e => e.Index));
        Assert.Equal([3L, 4L], sent.Entries.Select(e => e.Index));
    }

    [Fact]
    public void Leader_WithAFollowerBeingProbed_WritesEverythingItHolds()
    {
        var node = ElectedLeaderOfThree();
        node.Propose(new byte[] { 1 });
        Drain(node);
        node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "c", To = "a", Term = 1, Index = 2, Reject = true, RejectHint = 1, LogTerm = 1 });
        Drain(node); // c is probed from index 2

        node.Propose(new byte[] { 2 });

        // b has entry 2 in flight, so entry 3 waits for it, but c may need anything: the leader writes entry 3 now.
        Assert.Equal([3L], Drain(node).Entries.Select(e => e.Index));
    }

    // A leader whose loop was held takes its late ticks at once: one heartbeat round goes out for all of them (the
    // rounds of the earlier ticks would leave at the same moment and confirm only older times).
    [Fact]
    public void TickBurst_OnALeader_SendsOneHeartbeatRoundForTheWholeBurst()
    {
        var node = ElectedLeaderOfThree();

        node.Tick(5);

        var heartbeats = Drain(node).Messages.Where(m => m.Type == MessageType.Heartbeat).Select(m => m.To).Order().ToList();
        Assert.Equal(["b", "c"], heartbeats);
        Assert.Equal(StateRole.Leader, node.Status.Role);
    }

    // The next tick after a burst is an ordinary one: it heartbeats on its own timer again.
    [Fact]
    public void TickBurst_OnALeader_LeavesTheHeartbeatTimerRunning()
    {
        var node = ElectedLeaderOfThree();
        node.Tick(3);
        Drain(node);

        node.Tick();

        Assert.Equal(2, Drain(node).Messages.Count(m => m.Type == MessageType.Heartbeat));
    }

    // Check-quorum judges a burst at the first end of a window within it, on the answers stepped before it. The next
    // window starts when the burst ends: nothing could be stepped between the burst's late ticks, and the answers that
    // came in their time were spent on that judgment. Counted from the judgment, this window would end four ticks
    // after the burst, before any answer to the burst's heartbeat round could arrive (simulator seed 594427).
    [Fact]
    public void TickBurst_JudgedPartWayThrough_StartsTheNextCheckWindowWhenTheBurstEnds()
    {
        var node = ElectedLeaderOfThree();
        for (var i = 0; i < 4; i++)
        {
            node.Tick();
        }

        node.Step(new Message { Type = MessageType.HeartbeatResponse, From = "b", To = "a", Term = 1 });
        node.Tick(12); // the window ends at the sixth late tick, judged on b's answer
        Assert.Equal(StateRole.Leader, node.Status.Role);

        for (var i = 0; i < 9; i++)
        {
            node.Tick();
            Assert.True(node.Status.Role == StateRole.Leader, $"the leader stepped down {i + 1} ticks after the burst, before a window had passed");
        }

        // A whole window after the burst without an answer: check-quorum still deposes it.
        node.Tick();
        Assert.Equal(StateRole.Follower, node.Status.Role);
        Assert.Equal(1, node.Status.Term);
    }

    [Fact]
    public void GetReady_WithoutAdvance_Throws()
    {
        var node = new RawNode(Options("a"));
        node.Campaign();
        _ = node.GetReady();
        Assert.False(node.HasReady());
        Assert.Throws<InvalidOperationException>(() => node.GetReady());
    }

    [Fact]
    public void InitialState_CommitPastTheLog_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new RawNode(Options("a"), new InitialState(new HardState(1, null, 5), [new Entry(1, 1, EntryType.Normal, default)])));
        Assert.Contains("lost acknowledged entries", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "Id")]
    [InlineData("a", "ElectionTick")]
    public void Options_Invalid_NameTheSettingToFix(string id, string setting)
    {
        var options = new RaftOptions { Id = id, Voters = ["a"], ElectionTick = id == "" ? 10 : 1 };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Node "a" of a, b, c, elected in term 1 with both followers in the replicate state.</summary>
    private static RawNode ElectedLeaderOfThree(int maxInflight = 64, long minPipelinedAppendBytes = 64 * 1024)
    {
        var node = new RawNode(Options("a", "a", "b", "c") with
        {
            PreVote = false, MaxInflightMessages = maxInflight, MinPipelinedAppendBytes = minPipelinedAppendBytes,
        });
        node.Campaign();
        Drain(node);
        node.Step(new Message { Type = MessageType.VoteResponse, From = "b", To = "a", Term = 1 });
        Assert.Equal(StateRole.Leader, node.Status.Role);
        Drain(node); // persists the no-op and sends it
        foreach (var follower in new[] { "b", "c" })
        {
            node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = follower, To = "a", Term = 1, Index = 1 });
        }

        Drain(node); // commit broadcast
        return node;
    }

    [Fact]
    public void Ready_TakenAfterANewerTermArrived_StillCarriesTheOlderLeadersEntries()
    {
        // A host may step several inputs before it takes a ready. Entries taken from the leader of term 2 stay in the
        // ready after a heartbeat of term 3 moved the node on, so the ready's entries need not come from its current
        // term's leader (the simulator's durability check judges a write by the term its entries were taken in).
        var node = new RawNode(Options("b", "a", "b", "c"));
        var entry = new Entry(1, 2, EntryType.Normal, new byte[] { 42 });
        node.Step(new Message { Type = MessageType.AppendEntries, From = "a", To = "b", Term = 2, Index = 0, LogTerm = 0, Entries = [entry], Commit = 0 });
        node.Step(new Message { Type = MessageType.Heartbeat, From = "c", To = "b", Term = 3, Commit = 0 });

        var ready = node.GetReady();

        Assert.Equal(entry, Assert.Single(ready.Entries));
        Assert.Equal(3, ready.HardState!.Value.Term);
        Assert.Equal("c", node.Status.LeaderId);
    }
}
