using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// The follower's side of a lease (ReadOnlyOption.LeaseBased): its answer to a heartbeat promises not to vote for another
// candidate for ElectionTick of its ticks, the first of which may come at once. A timer callback that a starved thread
// pool runs late can come after the heartbeat although its firing came before: counted, it made that promise a tick
// short (review of session 30). The follower n2 runs for real; the test plays n1 (its leader), n3 (a candidate) and
// its clock. Ticks are 10 s long, so the time the test itself takes never amounts to one.
public sealed class RaftNodeFollowerLeaseTests : IAsyncLifetime
{
    private const long Term = 1;
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();
    private readonly ScriptedPeerTransport _peers = new();
    private RaftNode _node = null!;

    public async Task InitializeAsync()
    {
        var defaults = TestCluster.Options("n2", ["n1", "n2", "n3"]);
        var options = defaults with
        {
            Raft = defaults.Raft with { ReadOnlyOption = ReadOnlyOption.LeaseBased, LeaseClockDriftTicks = 0, PreVote = false },
            TickInterval = Tick,
            TransferLeadershipOnStop = false,
        };
        _node = new RaftNode(options, new InMemoryLogStore(), new InMemoryHardStateStore(), _peers, new TestStateMachine(), _time);
        await _node.StartAsync();

        // Past the lease a node keeps for an election timeout after it starts (it heard from nobody yet, so it would
        // campaign: n1's heartbeat comes first).
        _peers.Deliver(new Message { Type = MessageType.Heartbeat, From = "n1", To = "n2", Term = Term, Index = 1, Commit = 0 });
        await ProbeAsync();
        for (var i = 0; i < 10; i++)
        {
            await TickAsync(advance: true);
            _peers.Deliver(new Message { Type = MessageType.Heartbeat, From = "n1", To = "n2", Term = Term, Index = i + 2, Commit = 0 });
        }

        await ProbeAsync();
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Follower_ALateCallbackRightAfterAHeartbeat_DoesNotShortenItsPromise()
    {
        // A callback of a firing from before the heartbeat runs only now: no time has passed since the heartbeat.
        await TickAsync(advance: false);

        // Nine tick intervals later n2 still refuses n3's vote request; the tenth frees it.
        for (var i = 0; i < 9; i++)
        {
            await TickAsync(advance: true);
        }

        var vote = new Message { Type = MessageType.Vote, From = "n3", To = "n2", Term = Term + 1, Index = 0, LogTerm = 0 };
        _peers.Deliver(vote);
        await ProbeAsync();
        Assert.Null(_peers.LastSent(MessageType.VoteResponse, "n3"));

        await TickAsync(advance: true);
        _peers.Deliver(vote);
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.VoteResponse, "n3") is { Reject: false }, "n2 to vote for n3 an election timeout after the heartbeat");
    }

    // One timer firing, taken (or not) by the loop; with `advance`, a whole tick interval passed before it.
    private async Task TickAsync(bool advance)
    {
        if (advance)
        {
            _time.Advance(Tick);
        }

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
}
