using System.Text;
using Raft.Core;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.StateMachine;
using Raft.Core.Transport;
using Raft.Testing.Conformance;

namespace Raft.Storage.Faster.Tests;

// Three real RaftNodes, each on its own FasterLogStore and FileHardStateStore, on the in-memory network: they commit
// and apply the same sequence, and a node restarted from its directory (a new process, as far as it can tell) replays
// the same sequence and keeps up.
[Trait("Category", "Slow")]
public sealed class ClusterTests : IAsyncLifetime
{
    private static readonly string[] Ids = ["n1", "n2", "n3"];
    private readonly TempDirectory _directory = new();
    private readonly InMemoryNetwork _network = new();
    private readonly Dictionary<string, Member> _members = [];

    public async Task InitializeAsync()
    {
        foreach (var id in Ids)
        {
            await StartAsync(id);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var id in Ids)
        {
            await StopAsync(id);
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task Cluster_OnFasterStores_AppliesTheSameSequenceEverywhereAndSurvivesRestarts()
    {
        await ProposeAsync(0, 150);
        await WaitAppliedEverywhereAsync(150);

        var follower = Ids.First(id => !_members[id].Node!.IsLeader);
        await StopAsync(follower);
        await ProposeAsync(150, 200, among: [.. Ids.Where(id => id != follower)]);
        await StartAsync(follower);
        await WaitAppliedEverywhereAsync(200);

        var leader = Ids.First(id => _members[id].Node!.IsLeader);
        await StopAsync(leader);
        await StartAsync(leader);
        await ProposeAsync(200, 260);
        await WaitAppliedEverywhereAsync(260);

        var reference = _members[Ids[0]].StateMachine!.Applied;
        Assert.Equal(Enumerable.Range(0, 260).Select(i => $"cmd-{i}").Order(), reference.Select(a => a.Command).Order());
        foreach (var id in Ids)
        {
            Assert.Equal(reference, _members[id].StateMachine!.Applied);
            var log = _members[id].Log!;
            var entries = await log.ReadAsync(log.FirstIndex, log.LastIndex);
            Assert.Equal(reference.Select(a => a.Index), entries.Where(e => e.Type == EntryType.Normal).Select(e => e.Index));
        }
    }

    private async Task ProposeAsync(int from, int to, IReadOnlyCollection<string>? among = null)
    {
        for (var i = from; i < to; i += 10)
        {
            // Ten in flight at a time, so appends batch.
            await Task.WhenAll(Enumerable.Range(i, Math.Min(10, to - i)).Select(n => ProposeWithRetryAsync($"cmd-{n}", among ?? Ids)));
        }
    }

    private async Task ProposeWithRetryAsync(string command, IReadOnlyCollection<string> among)
    {
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (true)
        {
            var leader = await LeaderAsync(among);
            try
            {
                await leader.ProposeAsync(Encoding.UTF8.GetBytes(command));
                return;
            }
            catch (Exception ex) when (ex is NotLeaderException or ProposalDroppedException or ProposalSupersededException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
        }
    }

    private async Task<RaftNode> LeaderAsync(IReadOnlyCollection<string> among)
    {
        RaftNode? leader = null;
        await Eventually.TrueAsync(
            () =>
            {
                leader = among.Select(id => _members[id].Node).FirstOrDefault(n => n is { IsLeader: true });
                return leader is not null && among.All(id => _members[id].Node?.Status.LeaderId == leader.Id);
            },
            "a leader that every running node follows");
        return leader!;
    }

    private Task WaitAppliedEverywhereAsync(int count) =>
        Eventually.TrueAsync(() => Ids.All(id => _members[id].StateMachine!.Applied.Count >= count), $"{count} commands applied on every node");

    private async Task StartAsync(string id)
    {
        var member = _members.TryGetValue(id, out var existing) ? existing : _members[id] = new Member();
        var directory = _directory.Sub(id);
        member.Log = await FasterLogStore.OpenAsync(TestOptions.Log(Path.Combine(directory, "log")));
        member.HardState = FileHardStateStore.Open(Path.Combine(directory, "hardstate"));
        member.Transport = _network.CreateTransport(id);
        member.StateMachine = new RecordingStateMachine();
        member.Node = new RaftNode(
            new RaftNodeOptions
            {
                Raft = new RaftOptions { Id = id, Voters = Ids, ElectionTick = 10, HeartbeatTick = 1 },
                TickInterval = TimeSpan.FromMilliseconds(20),
            },
            member.Log,
            member.HardState,
            member.Transport,
            member.StateMachine);
        await member.Node.StartAsync();
    }

    private async Task StopAsync(string id)
    {
        if (!_members.TryGetValue(id, out var member) || member.Node is null)
        {
            return;
        }

        await member.Node.StopAsync();
        await member.Transport!.DisposeAsync();
        await member.Log!.DisposeAsync();
        member.HardState!.Dispose();
        member.Node = null;
    }

    private sealed class Member
    {
        public RaftNode? Node { get; set; }

        public FasterLogStore? Log { get; set; }

        public FileHardStateStore? HardState { get; set; }

        public InMemoryTransport? Transport { get; set; }

        public RecordingStateMachine? StateMachine { get; set; }
    }

    // Records what it applies; fails on anything out of order.
    private sealed class RecordingStateMachine : IStateMachine
    {
        private readonly Lock _lock = new();
        private readonly List<(long Index, string Command)> _applied = [];

        public IReadOnlyList<(long Index, string Command)> Applied
        {
            get
            {
                lock (_lock)
                {
                    return [.. _applied];
                }
            }
        }

        public ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default)
        {
            lock (_lock)
            {
                if (_applied.Count > 0 && _applied[^1].Index >= entry.Index)
                {
                    throw new InvalidOperationException($"Entry {entry.Index} applied after {_applied[^1].Index}.");
                }

                _applied.Add((entry.Index, Encoding.UTF8.GetString(entry.Data.Span)));
            }

            return ValueTask.FromResult(ReadOnlyMemory<byte>.Empty);
        }

        public ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("This test does not snapshot.");

        public ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("This test does not snapshot.");
    }
}
