using System.Text;
using Raft.Core.Messages;
using Raft.Core.Runtime;

namespace Raft.Core.Tests.Runtime;

public sealed class ProposalTrackerTests
{
    private readonly ProposalTracker _tracker = new();

    [Fact]
    public async Task OnApplied_SameIndexAndTerm_ResolvesWithTheResponse()
    {
        var proposal = Register(5, 2);

        _tracker.OnApplied(Normal(5, 2), Encoding.UTF8.GetBytes("ok"));

        var result = await proposal.Task;
        Assert.Equal(5, result.Index);
        Assert.Equal("ok", Encoding.UTF8.GetString(result.Response.Span));
        Assert.Equal(0, _tracker.Count);
    }

    // §5.3: a different term at the proposal's index means another leader's entry won.
    [Fact]
    public async Task OnApplied_SameIndexOtherTerm_FailsSuperseded()
    {
        var proposal = Register(5, 2);

        _tracker.OnApplied(Normal(5, 3), default);

        var ex = await Assert.ThrowsAsync<ProposalSupersededException>(() => proposal.Task);
        Assert.Equal(5, ex.Index);
        Assert.Equal(2, ex.Term);
        Assert.Equal(0, _tracker.Count);
    }

    // Terms never decrease along a log: once term 4 is applied at index 3, no index past 3 can hold term 2 any more.
    [Fact]
    public async Task OnApplied_NewerTermAtALowerIndex_FailsOlderProposalsPastIt()
    {
        var lost1 = Register(4, 2);
        var lost2 = Register(9, 2);
        var kept = Register(6, 4);

        _tracker.OnApplied(NoOp(3, 4), default);

        await Assert.ThrowsAsync<ProposalSupersededException>(() => lost1.Task);
        await Assert.ThrowsAsync<ProposalSupersededException>(() => lost2.Task);
        Assert.False(kept.Task.IsCompleted);
        Assert.Equal(1, _tracker.Count);

        _tracker.OnApplied(Normal(6, 4), default);
        Assert.Equal(6, (await kept.Task).Index);
    }

    [Fact]
    public void OnApplied_SameTermAtALowerIndex_LeavesLaterProposalsPending()
    {
        var later = Register(7, 3);

        _tracker.OnApplied(Normal(5, 3), default);
        _tracker.OnApplied(NoOp(6, 3), default);

        Assert.False(later.Task.IsCompleted);
        Assert.Equal(1, _tracker.Count);
    }

    [Fact]
    public void OnApplied_AnOlderTermAtALowerIndex_LeavesLaterProposalsPending()
    {
        var later = Register(7, 3);

        _tracker.OnApplied(Normal(5, 2), default);

        Assert.False(later.Task.IsCompleted);
    }

    [Fact]
    public void OnApplied_NoPendingProposalAtTheIndex_DoesNothing()
    {
        _tracker.OnApplied(Normal(1, 1), default);

        Assert.Equal(0, _tracker.Count);
    }

    // A node that led in term 2, lost its suffix and leads again in term 5 reuses the index. Its term-2 entry may still
    // be on a follower that wins a later term and commits it (five voters: the entry reached one follower only, and that
    // follower outlasts this node's second term), so the older proposal is not lost yet: the applied entry decides.
    [Fact]
    public async Task Register_OlderProposalAtTheSameIndex_StaysPending_AndIsAppliedIfItsEntryIs()
    {
        var old = Register(8, 2);

        var fresh = Register(8, 5);

        Assert.False(old.Task.IsCompleted);
        Assert.Equal(2, _tracker.Count);
        _tracker.OnApplied(Normal(8, 2), Encoding.UTF8.GetBytes("old"));
        Assert.Equal("old", Encoding.UTF8.GetString((await old.Task).Response.Span));
        await Assert.ThrowsAsync<ProposalSupersededException>(() => fresh.Task);
        Assert.Equal(0, _tracker.Count);
    }

    [Fact]
    public async Task Register_OlderProposalAtTheSameIndex_IsSupersededWhenTheNewerEntryIsApplied()
    {
        var old = Register(8, 2);
        var fresh = Register(8, 5);

        _tracker.OnApplied(Normal(8, 5), default);

        Assert.Equal(8, (await fresh.Task).Index);
        var lost = await Assert.ThrowsAsync<ProposalSupersededException>(() => old.Task);
        Assert.Equal(2, lost.Term);
        Assert.Equal(0, _tracker.Count);
    }

    // Terms never decrease along a log: a term-3 entry applied at 6 rules out term 2 at 8, not term 5.
    [Fact]
    public async Task OnApplied_NewerTermBelowADisplacedProposal_FailsOnlyTheOlderOne()
    {
        var old = Register(8, 2);
        var fresh = Register(8, 5);

        _tracker.OnApplied(NoOp(6, 3), default);

        await Assert.ThrowsAsync<ProposalSupersededException>(() => old.Task);
        Assert.False(fresh.Task.IsCompleted);
        Assert.Equal(1, _tracker.Count);
        _tracker.OnApplied(Normal(8, 5), default);
        Assert.Equal(8, (await fresh.Task).Index);
    }

    [Fact]
    public async Task DisplacedProposals_AreFailedByFailAllFailAboveAndSnapshots()
    {
        var old = Register(8, 2);
        var fresh = Register(8, 5);
        Assert.Equal(2, _tracker.FailAbove(7, (index, term) => new RaftNodeStoppedException()));
        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => old.Task);
        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => fresh.Task);

        old = Register(8, 2);
        fresh = Register(8, 5);
        _tracker.FailAll(new RaftNodeStoppedException());
        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => old.Task);
        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => fresh.Task);

        // The snapshot's last entry is of term 5, so this node's own term-5 entry at 8 is in it; the term-2 one is not
        // known to be (the rule for an older term than the snapshot's at or below it).
        old = Register(8, 2);
        fresh = Register(8, 5);
        _tracker.OnSnapshotRestored(10, 5);
        Assert.True((await Assert.ThrowsAsync<ProposalResultUnknownException>(() => fresh.Task)).WasApplied);
        Assert.False((await Assert.ThrowsAsync<ProposalResultUnknownException>(() => old.Task)).WasApplied);
        Assert.Equal(0, _tracker.Count);
    }

    [Fact]
    public void Register_SameIndexAndTermTwice_Throws()
    {
        Register(8, 2);

        Assert.Throws<InvalidOperationException>(() => Register(8, 2));
        Assert.Throws<InvalidOperationException>(() => Register(8, 1));
    }

    [Fact]
    public void Register_InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Register(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Register(1, 0));
        Assert.Throws<ArgumentNullException>(() => _tracker.Register(1, 1, null!));
    }

    [Fact]
    public async Task FailAll_PendingProposals_FailWithTheGivenException()
    {
        var a = Register(1, 1);
        var b = Register(2, 1);
        var stopped = new RaftNodeStoppedException();

        _tracker.FailAll(stopped);

        Assert.Same(stopped, await Assert.ThrowsAsync<RaftNodeStoppedException>(() => a.Task));
        Assert.Same(stopped, await Assert.ThrowsAsync<RaftNodeStoppedException>(() => b.Task));
        Assert.Equal(0, _tracker.Count);
    }

    [Fact]
    public async Task OnApplied_AfterResolution_NeverResolvesTwice()
    {
        var proposal = Register(3, 1);
        _tracker.OnApplied(Normal(3, 1), new byte[] { 1 });

        _tracker.OnApplied(Normal(3, 2), new byte[] { 2 });
        _tracker.FailAll(new RaftNodeStoppedException());

        Assert.Equal(new byte[] { 1 }, (await proposal.Task).Response.ToArray());
    }

    [Fact]
    public void OnApplied_ReusedAfterBoundsReset_StillFailsSupersededProposals()
    {
        Register(1, 1);
        _tracker.OnApplied(Normal(1, 1), default);
        var later = Register(10, 2);

        _tracker.OnApplied(NoOp(5, 3), default);

        Assert.True(later.Task.IsFaulted);
        Assert.Equal(0, _tracker.Count);
    }

    [Fact]
    public async Task OnApplied_ManyProposalsInOrder_ResolvesEachWithItsIndex()
    {
        var proposals = Enumerable.Range(1, 10_000).Select(i => Register(i, 7)).ToArray();

        for (var i = 1; i <= proposals.Length; i++)
        {
            _tracker.OnApplied(Normal(i, 7), default);
        }

        for (var i = 0; i < proposals.Length; i++)
        {
            Assert.Equal(i + 1, (await proposals[i].Task).Index);
        }

        Assert.Equal(0, _tracker.Count);
    }

    [Fact]
    public async Task OnResolved_Callback_SeesEverySuccessfulResolutionOnly()
    {
        var resolved = new List<long>();
        var tracker = new ProposalTracker((_, index) => resolved.Add(index));
        var ok = new TaskCompletionSource<ProposalResult>();
        var lost = new TaskCompletionSource<ProposalResult>();
        tracker.Register(1, 1, ok);
        tracker.Register(2, 1, lost);

        tracker.OnApplied(Normal(1, 1), default);
        tracker.OnApplied(Normal(2, 2), default);

        Assert.Equal([1L], resolved);
        await Assert.ThrowsAsync<ProposalSupersededException>(() => lost.Task);
    }

    // §7: the snapshot's last entry has term 5. A proposal of term 5 at or below it was written by this node as leader of
    // term 5 before that entry, so it is in the snapshot; one of a later term lost; one of an earlier term is unknown.
    [Fact]
    public async Task OnSnapshotRestored_ProposalsItCovers_ResolveByTheirTerm()
    {
        var applied = Register(8, 5);
        var superseded = Register(9, 6);
        var unknown = Register(4, 3);

        _tracker.OnSnapshotRestored(10, 5);

        var known = await Assert.ThrowsAsync<ProposalResultUnknownException>(() => applied.Task);
        Assert.True(known.WasApplied);
        Assert.Equal(8, known.Index);
        await Assert.ThrowsAsync<ProposalSupersededException>(() => superseded.Task);
        var maybe = await Assert.ThrowsAsync<ProposalResultUnknownException>(() => unknown.Task);
        Assert.False(maybe.WasApplied);
        Assert.Equal(0, _tracker.Count);
    }

    [Fact]
    public async Task OnSnapshotRestored_ProposalsPastIt_StayPendingUnlessOfAnOlderTerm()
    {
        var kept = Register(12, 5);
        var lost = Register(13, 4);

        _tracker.OnSnapshotRestored(10, 5);

        await Assert.ThrowsAsync<ProposalSupersededException>(() => lost.Task);
        Assert.False(kept.Task.IsCompleted);
        _tracker.OnApplied(Normal(12, 5), default);
        Assert.Equal(12, (await kept.Task).Index);
    }

    [Fact]
    public async Task FailAbove_FailsOnlyTheProposalsPastTheIndex()
    {
        var below = Register(3, 1);
        var at = Register(5, 1);
        var above = Register(6, 1);

        var failed = _tracker.FailAbove(5, (index, term) => new ProposalResultUnknownException(index, term, wasApplied: false, "removed."));

        Assert.Equal(1, failed);
        var ex = await Assert.ThrowsAsync<ProposalResultUnknownException>(() => above.Task);
        Assert.Equal(6, ex.Index);
        Assert.False(below.Task.IsCompleted);
        Assert.False(at.Task.IsCompleted);
        _tracker.OnApplied(Normal(3, 1), default);
        _tracker.OnApplied(Normal(5, 1), default);
        Assert.Equal(5, (await at.Task).Index);
        Assert.Equal(0, _tracker.Count);
    }

    private TaskCompletionSource<ProposalResult> Register(long index, long term)
    {
        var completion = new TaskCompletionSource<ProposalResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _tracker.Register(index, term, completion);
        return completion;
    }

    private static Entry Normal(long index, long term) => new(index, term, EntryType.Normal, default);

    private static Entry NoOp(long index, long term) => new(index, term, EntryType.NoOp, default);
}
