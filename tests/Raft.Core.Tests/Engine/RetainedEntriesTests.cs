using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Tests.Engine;

/// <summary>
/// RaftOptions.RetainedLogEntries: with a reader over the durable log, the engine keeps only the newest entries in memory
/// and reads older ones back for a follower that far behind; without one it keeps them all. Entries every follower
/// already holds are let go as soon as they are durable and applied, whatever the window.
/// </summary>
public sealed class RetainedEntriesTests
{
    // The durable log store the tests stand in for: what every ready persisted, and the reads the engine made.
    private readonly List<Entry> _store = [];
    private readonly List<(long From, long To)> _reads = [];

    [Fact]
    public void LaggingFollower_WithAReader_GetsEntriesReadBackFromTheStore()
    {
        var leader = LeaderWithTenCommittedEntries(retained: 0, reader: Read);

        var append = ProbeFromTheStart(leader);

        Assert.Equal(_store.Skip(1), append.Entries);
        Assert.Equal([(2L, 11L)], _reads);
    }

    [Fact]
    public void LaggingFollower_ReadsBackOnlyWhatFellOutOfTheWindow()
    {
        var leader = LeaderWithTenCommittedEntries(retained: 4, reader: Read);

        var append = ProbeFromTheStart(leader);

        // Entries 8..11 are the newest four, still in memory; 2..7 come from the store, in one read.
        Assert.Equal(_store.Skip(1), append.Entries);
        Assert.Equal([(2L, 7L)], _reads);
    }

    [Fact]
    public void LaggingFollower_WithinTheWindow_IsServedFromMemory()
    {
        var leader = LeaderWithTenCommittedEntries(retained: 1024, reader: Read);

        var append = ProbeFromTheStart(leader);

        Assert.Equal(_store.Skip(1), append.Entries);
        Assert.Empty(_reads);
    }

    [Fact]
    public void EntriesEveryFollowerHolds_LeaveMemoryOnceApplied_ThoughTheWindowIsLarger()
    {
        var leader = LeaderWithTenCommittedEntries(retained: 1024, reader: Read, everyFollowerAcknowledges: true);

        Assert.Equal(_store[4], leader.EntryAt(5));

        Assert.Equal([(5L, 5L)], _reads);
    }

    [Fact]
    public void AFollower_LetsGoOfTheEntriesItApplied()
    {
        var follower = new RawNode(new RaftOptions { Id = "b", Voters = ["a", "b", "c"], RandomSeed = 7, RetainedLogEntries = 1024 }, null, Read);
        var entries = Enumerable.Range(1, 5).Select(i => new Entry(i, 1, EntryType.Normal, new byte[] { (byte)i })).ToArray();
        follower.Step(new Message { Type = MessageType.AppendEntries, From = "a", To = "b", Term = 1, Index = 0, LogTerm = 0, Entries = entries, Commit = 5 });

        var ready = Drain(follower);

        Assert.Equal(5, ready.CommittedEntries.Count);
        Assert.Equal(entries[1], follower.EntryAt(2));
        Assert.Equal([(2L, 2L)], _reads);
    }

    [Fact]
    public void LaggingFollower_WithoutAReader_IsServedFromMemory()
    {
        var leader = LeaderWithTenCommittedEntries(retained: 0, reader: null);

        var append = ProbeFromTheStart(leader);

        Assert.Equal(_store.Skip(1), append.Entries);
        Assert.Empty(_reads);
    }

    [Fact]
    public void AStoreThatReturnsAnotherTerm_IsReportedAsLostDurableEntries()
    {
        var leader = LeaderWithTenCommittedEntries(retained: 0, reader: (from, to) =>
            [.. Read(from, to).Select(e => e with { Term = e.Term + 1 })]);

        var error = Assert.Throws<InvalidOperationException>(() => ProbeFromTheStart(leader));

        Assert.Contains("lost or replaced durable entries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_NegativeRetainedLogEntries_NameTheSetting()
    {
        var options = new RaftOptions { Id = "a", Voters = ["a"], RetainedLogEntries = -1 };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("RetainedLogEntries", error.Message, StringComparison.Ordinal);
    }

    private IReadOnlyList<Entry> Read(long from, long to)
    {
        _reads.Add((from, to));
        return _store.GetRange((int)(from - 1), (int)(to - from + 1));
    }

    private Ready Drain(RawNode node)
    {
        var ready = node.GetReady();
        foreach (var entry in ready.Entries)
        {
            _store.RemoveRange((int)(entry.Index - 1), _store.Count - (int)(entry.Index - 1));
            _store.Add(entry);
        }

        node.Advance(ready);
        return ready;
    }

    // Leader "a" of a, b, c in term 1: its no-op and ten proposals committed and applied with b; c acknowledged only
    // the no-op, and the appends sent to it since are lost (every batch is pipelined to it, none waits in memory) -
    // unless everyFollowerAcknowledges, when c acknowledges each append as b does.
    private RawNode LeaderWithTenCommittedEntries(int retained, StableEntryReader? reader, bool everyFollowerAcknowledges = false)
    {
        var options = new RaftOptions
        {
            Id = "a", Voters = ["a", "b", "c"], RandomSeed = 7, PreVote = false, RetainedLogEntries = retained, MinPipelinedAppendBytes = 0,
        };
        var node = new RawNode(options, null, reader);
        node.Campaign();
        Drain(node);
        node.Step(new Message { Type = MessageType.VoteResponse, From = "b", To = "a", Term = 1 });
        Drain(node);
        foreach (var follower in new[] { "b", "c" })
        {
            node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = follower, To = "a", Term = 1, Index = 1 });
        }

        Drain(node);
        for (var i = 0; i < 10; i++)
        {
            node.Propose(new byte[] { (byte)i });
            Drain(node);
            node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "b", To = "a", Term = 1, Index = 2 + i });
            if (everyFollowerAcknowledges)
            {
                node.Step(new Message { Type = MessageType.AppendEntriesResponse, From = "c", To = "a", Term = 1, Index = 2 + i });
            }

            Assert.Equal(2 + i, Drain(node).CommittedEntries.Single().Index);
        }

        Assert.Empty(_reads);
        return node;
    }

    // c says it lacks the entry before the last append (its log ends at the no-op): the leader probes from index 2.
    private Message ProbeFromTheStart(RawNode leader)
    {
        leader.Step(new Message
        {
            Type = MessageType.AppendEntriesResponse, From = "c", To = "a", Term = 1, Index = 10, Reject = true, RejectHint = 1, LogTerm = 1,
        });
        var append = Drain(leader).Messages.Single(m => m.To == "c" && m.Type == MessageType.AppendEntries);
        Assert.Equal(1, append.Index);
        return append;
    }
}
