using System.Text;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// A follower whose log append is slow keeps answering its leader's heartbeats (WhilePersisting.FollowerAllowed): a
// disk that stalls for an election timeout must not make a live follower look dead to check-quorum (seen in the grpc
// benchmark: both followers' first write took ~170 ms and their leader stepped down 4 ms before they answered). The
// follower n2 runs for real; the test plays its leader n1, and its clock never fires, so n2 never campaigns.
public sealed class RaftNodeFollowerWhilePersistingTests : IAsyncLifetime
{
    private const long Term = 1;

    private readonly ManualTimeProvider _time = new();
    private readonly ScriptedPeerTransport _peers = new();
    private readonly FaultyLogStore _log = new();
    private readonly TestStateMachine _stateMachine = new();
    private RaftNode _node = null!;

    public async Task InitializeAsync()
    {
        // An apply queue of one batch, so that a held state machine fills it at once.
        var options = TestCluster.Options("n2", ["n1", "n2", "n3"]) with { TransferLeadershipOnStop = false, MaxPendingApplyBatches = 1 };
        _node = new RaftNode(options, _log, new InMemoryHardStateStore(), _peers, _stateMachine, _time);
        await _node.StartAsync();

        // n1's first heartbeat makes n2 its follower in term 1 (that ready saves the term, so it runs alone).
        _peers.Deliver(Heartbeat(round: 1, commit: 0));
        await Eventually.TrueAsync(() => HeartbeatAnswered(1), "n2 to answer n1's first heartbeat");
    }

    public async Task DisposeAsync()
    {
        _log.Gate?.TrySetResult();
        _stateMachine.Gate?.TrySetResult();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task Follower_WhileItsAppendIsHeld_AnswersHeartbeatsButAcknowledgesTheEntryOnlyOnceDurable()
    {
        var gate = await HoldAppendOfEntryOneAsync();

        _peers.Deliver(Heartbeat(round: 2, commit: 0));
        _peers.Deliver(Heartbeat(round: 3, commit: 0));
        await Eventually.TrueAsync(() => HeartbeatAnswered(3), "n2 to answer heartbeats while its append is held");

        Assert.True(_log.WaitingAppends > 0, "the append was released early");
        Assert.True(HeartbeatAnswered(2));
        Assert.Null(_peers.LastSent(MessageType.AppendEntriesResponse, "n1"));

        gate.SetResult();
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n1") is { Index: 1, Reject: false }, "n2 to acknowledge entry 1 once written");
    }

    // A heartbeat answered while the append runs restarts the election timer; a timer firing that came before it, whose
    // tick waits for the write, must not count against the new timeout. Counted, it let the follower vote for another
    // candidate one tick early, inside the lease its answer had just granted the leader (found by a review in session
    // 29). ElectionTick is 10: nine ticks after the heartbeat, n2 still ignores a vote request; the tenth frees it.
    [Fact]
    public async Task Follower_WhileItsAppendIsHeld_DoesNotCountAFiringFromBeforeTheHeartbeatItAnswered()
    {
        var gate = await HoldAppendOfEntryOneAsync();
        _time.FireAll();
        _peers.Deliver(Heartbeat(round: 2, commit: 0));
        await Eventually.TrueAsync(() => HeartbeatAnswered(2), "n2 to answer the heartbeat while its append is held");
        gate.SetResult();
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n1") is { Index: 1, Reject: false }, "n2 to acknowledge entry 1 once written");

        for (var i = 0; i < 9; i++)
        {
            await TickAsync();
        }

        var vote = new Message { Type = MessageType.Vote, From = "n3", To = "n2", Term = Term + 1, Index = 1, LogTerm = Term };
        _peers.Deliver(vote);
        await ProbeAsync();
        Assert.Null(_peers.LastSent(MessageType.VoteResponse, "n3"));
        Assert.Null(_peers.LastSent(MessageType.PreVote, "n3"));

        await TickAsync();
        _peers.Deliver(vote);
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.VoteResponse, "n3") is { Reject: false }, "n2 to vote for n3 an election timeout after the heartbeat");
    }

    // A heartbeat's commit index takes effect while the append runs, but what it commits is applied only after the
    // write: nothing reaches the state machine before it is durable here.
    [Fact]
    public async Task Follower_WhileItsAppendIsHeld_AppliesWhatAHeartbeatCommitsOnlyAfterTheWrite()
    {
        var gate = await HoldAppendOfEntryOneAsync();

        _peers.Deliver(Heartbeat(round: 2, commit: 1));
        await Eventually.TrueAsync(() => HeartbeatAnswered(2), "n2 to answer the heartbeat while its append is held");
        await Task.Delay(100);
        Assert.Empty(_stateMachine.Applied);

        gate.SetResult();
        await Eventually.TrueAsync(() => _stateMachine.Applied.Count == 1, "entry 1 to be applied after its write");
        Assert.Equal((1, "a"), _stateMachine.Applied[0]);
    }

    // Anything else still waits for the writes: the leader's next append is taken, written and acknowledged after.
    [Fact]
    public async Task Follower_WhileItsAppendIsHeld_LeavesTheNextAppendForAfterTheWrite()
    {
        var gate = await HoldAppendOfEntryOneAsync();

        _peers.Deliver(Append(new Entry(2, Term, EntryType.Normal, "b"u8.ToArray())));
        _peers.Deliver(Heartbeat(round: 2, commit: 0));
        await Eventually.TrueAsync(() => HeartbeatAnswered(2), "n2 to answer the heartbeat while its append is held");
        Assert.Null(_peers.LastSent(MessageType.AppendEntriesResponse, "n1"));
        Assert.Equal(1, _log.WaitingAppends);

        gate.SetResult();
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n1") is { Index: 2, Reject: false }, "n2 to acknowledge entry 2 after entry 1's write");
        Assert.Equal(2, _log.LastIndex);
    }

    // A follower whose disk proved quick may write on its loop (a lone write spares a thread hand-over), where it
    // answers nothing until the write ends; one slow write and it is back to writing on its own thread.
    [Fact]
    public async Task Follower_AfterASlowWrite_AnswersHeartbeatsWhileItsNextAppendIsHeld_EvenAfterItTrustedItsDisk()
    {
        for (var i = 1; i <= 100; i++)
        {
            _peers.Deliver(Append(new Entry(i, Term, EntryType.Normal, "q"u8.ToArray())));
            await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n1") is { Index: var acked } && acked == i, $"n2 to acknowledge entry {i}");
        }

        // Wherever it runs, this write takes longer than a tick.
        var slow = _log.HoldAppends();
        _peers.Deliver(Append(new Entry(101, Term, EntryType.Normal, "s"u8.ToArray())));
        await Eventually.TrueAsync(() => _log.WaitingAppends > 0, "the slow append to start");
        await Task.Delay(TimeSpan.FromMilliseconds(100));
        slow.SetResult();
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n1") is { Index: 101 }, "n2 to acknowledge entry 101");

        var held = _log.HoldAppends();
        _peers.Deliver(Append(new Entry(102, Term, EntryType.Normal, "h"u8.ToArray())));
        await Eventually.TrueAsync(() => _log.WaitingAppends > 0, "the next append to start");
        _peers.Deliver(Heartbeat(round: 2, commit: 0));
        await Eventually.TrueAsync(() => HeartbeatAnswered(2), "n2 to answer the heartbeat while its append is held");
        held.SetResult();
    }

    // The first append of a new leader is the ready in which the follower learns that leader: its stall must not
    // silence it either (seen in the grpc benchmark: both followers' first append after an election took 293 and
    // 504 ms, nobody answered, and check-quorum deposed the new leader one election timeout after its election). Here
    // n1 hands leadership to n3 (a transfer election, which n2's lease does not refuse): n2 votes in term 2, then n3's
    // first append is held while n3 heartbeats.
    [Fact]
    public async Task Follower_WhileTheFirstAppendOfANewLeaderIsHeld_AnswersThatLeadersHeartbeats()
    {
        _peers.Deliver(new Message { Type = MessageType.Vote, From = "n3", To = "n2", Term = 2, Index = 0, LogTerm = 0, Context = "transfer"u8.ToArray() });
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.VoteResponse, "n3") is { Term: 2, Reject: false }, "n2 to vote for n3 in term 2");

        var gate = _log.HoldAppends();
        try
        {
            _peers.Deliver(new Message
            {
                Type = MessageType.AppendEntries, From = "n3", To = "n2", Term = 2, Index = 0, LogTerm = 0, Commit = 0,
                Entries = [new Entry(1, 2, EntryType.Normal, "a"u8.ToArray())],
            });
            await Eventually.TrueAsync(() => _log.WaitingAppends > 0, "n2's append of n3's first entry to start");

            _peers.Deliver(new Message { Type = MessageType.Heartbeat, From = "n3", To = "n2", Term = 2, Index = 1, Commit = 0 });
            await Eventually.TrueAsync(
                () => _peers.Sent.Any(m => m.Type == MessageType.HeartbeatResponse && m.To == "n3" && m.Term == 2 && m.Index == 1),
                "n2 to answer n3's heartbeat while its first append from n3 is held");
            Assert.Equal(1, _log.WaitingAppends);
            Assert.Null(_peers.LastSent(MessageType.AppendEntriesResponse, "n3"));
        }
        finally
        {
            gate.TrySetResult();
        }

        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n3") is { Index: 1, Reject: false }, "n2 to acknowledge entry 1 once written");
    }

    // A state machine that falls behind (a long snapshot on the applier) fills the apply queue, and the loop waits for
    // room: the follower answers its leader's heartbeats meanwhile, as while it writes. Before, it answered nothing
    // until the applier took the next batch, the heartbeat that committed the batch included.
    [Fact]
    public async Task Follower_WhoseApplierIsBehind_AnswersHeartbeatsWhileItWaitsForRoomToApply()
    {
        var applier = await FillApplyQueueAsync();

        await AppendAsync(3);
        _peers.Deliver(Heartbeat(round: 4, commit: 3));
        await Eventually.TrueAsync(() => HeartbeatAnswered(4), "n2 to answer the heartbeat that commits entry 3");
        _peers.Deliver(Heartbeat(round: 5, commit: 3));
        await Eventually.TrueAsync(() => HeartbeatAnswered(5), "n2 to answer a heartbeat while its loop waits for room to apply");
        Assert.Empty(_stateMachine.Applied);

        applier.SetResult();
        await Eventually.TrueAsync(() => _stateMachine.Applied.Count == 3, "the three entries to be applied");
        Assert.Equal([(1, "e1"), (2, "e2"), (3, "e3")], _stateMachine.Applied);
    }

    // The same when the batch that waits came with a new leader's term: the wait starts once the ready that saved the
    // term is advanced, so the answers in that term need not wait for the applier as well (a review found them held
    // until the next ready's writes when the wait came first).
    [Fact]
    public async Task Follower_WhoseApplierIsBehind_AnswersANewLeadersHeartbeatsWhileItWaitsForRoomToApply()
    {
        var applier = await FillApplyQueueAsync();
        await AppendAsync(3);

        // n3 leads term 2: its first append commits entry 3, which waits for room.
        _peers.Deliver(new Message
        {
            Type = MessageType.AppendEntries, From = "n3", To = "n2", Term = 2, Index = 3, LogTerm = Term, Commit = 3,
            Entries = [new Entry(4, 2, EntryType.Normal, "e4"u8.ToArray())],
        });
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n3") is { Term: 2, Index: 4, Reject: false }, "n2 to acknowledge n3's entry 4");
        _peers.Deliver(new Message { Type = MessageType.Heartbeat, From = "n3", To = "n2", Term = 2, Index = 1, Commit = 3 });
        await Eventually.TrueAsync(
            () => _peers.Sent.Any(m => m.Type == MessageType.HeartbeatResponse && m.To == "n3" && m.Term == 2 && m.Index == 1),
            "n2 to answer n3's heartbeat while its loop waits for room to apply");
        Assert.Empty(_stateMachine.Applied);

        applier.SetResult();
        await Eventually.TrueAsync(() => _stateMachine.Applied.Count == 3, "entries 1 to 3 to be applied");
        Assert.Equal([(1, "e1"), (2, "e2"), (3, "e3")], _stateMachine.Applied);
    }

    // Entries 1 and 2, each committed by the heartbeat after it: 1 is held at the applier, 2 fills the apply queue (one
    // batch), so the next commit makes the loop wait for room. Returns the applier's gate.
    private async Task<TaskCompletionSource> FillApplyQueueAsync()
    {
        var applier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _stateMachine.Gate = applier;
        for (var i = 1; i <= 2; i++)
        {
            await AppendAsync(i);
            _peers.Deliver(Heartbeat(round: i + 1, commit: i));
            await Eventually.TrueAsync(() => HeartbeatAnswered(i + 1), $"n2 to answer the heartbeat that commits entry {i}");
            if (i == 1)
            {
                await Eventually.TrueAsync(() => _stateMachine.GateWaiters == 1, "the applier to take entry 1");
            }
        }

        return applier;
    }

    // n1 sends entry `index` ("e{index}"); n2 acknowledges it.
    private async Task AppendAsync(long index)
    {
        _peers.Deliver(Append(new Entry(index, Term, EntryType.Normal, Encoding.UTF8.GetBytes($"e{index}"))));
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n1") is { Index: var acked } && acked == index, $"n2 to acknowledge entry {index}");
    }

    // n1 sends entry 1; n2's append of it starts and is held until the returned gate is set.
    private async Task<TaskCompletionSource> HoldAppendOfEntryOneAsync()
    {
        var gate = _log.HoldAppends();
        _peers.Deliver(Append(new Entry(1, Term, EntryType.Normal, "a"u8.ToArray())));
        await Eventually.TrueAsync(() => _log.WaitingAppends > 0, "n2's append to start");
        return gate;
    }

    // One timer firing, taken as a tick: the events behind its tick event are handled after it.
    private async Task TickAsync()
    {
        _time.FireAll();
        await ProbeAsync();
    }

    // Every event before now handled: n2 answers a heartbeat of term 0 (older than its own) at once, and nothing else.
    private async Task ProbeAsync()
    {
        var before = _peers.CountSent(MessageType.AppendEntriesResponse, "n3");
        _peers.Deliver(new Message { Type = MessageType.Heartbeat, From = "n3", To = "n2", Term = 0 });
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.AppendEntriesResponse, "n3") > before, "n2 to answer a stale heartbeat");
    }

    private bool HeartbeatAnswered(long round) =>
        _peers.Sent.Any(m => m.Type == MessageType.HeartbeatResponse && m.To == "n1" && m.Term == Term && m.Index == round);

    private static Message Heartbeat(long round, long commit) =>
        new() { Type = MessageType.Heartbeat, From = "n1", To = "n2", Term = Term, Index = round, Commit = commit };

    private static Message Append(Entry entry) => new()
    {
        Type = MessageType.AppendEntries,
        From = "n1",
        To = "n2",
        Term = Term,
        Index = entry.Index - 1,
        LogTerm = entry.Index == 1 ? 0 : Term,
        Entries = [entry],
        Commit = 0,
    };
}
