using System.Text;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Transport;
using Raft.Testing.Conformance;
using Raft.Testing.Logging;

namespace Raft.Core.Tests.Runtime;

// Real RaftNodes on the in-memory seams, in real time with a short tick. Helpers wait for events with generous
// bounds and retry proposals that a leadership change refused, so tests never depend on timing.
public sealed class TestCluster : IAsyncDisposable
{
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(10);

    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);
    private readonly List<string> _ids = [];
    private readonly Func<RaftNodeOptions, RaftNodeOptions>? _configure;
    private readonly TimeProvider? _timeProvider;

    private TestCluster(IReadOnlyList<string> ids, Func<RaftNodeOptions, RaftNodeOptions>? configure, TimeProvider? timeProvider)
    {
        InitialVoters = ids;
        _ids.AddRange(ids);
        _configure = configure;
        _timeProvider = timeProvider;
    }

    public InMemoryNetwork Network { get; } = new();

    // Every node's log lines; print it when a test fails to see what the nodes did.
    public TestLog Log { get; } = new();

    // Every node ever started in this cluster, the initial voters first.
    public IReadOnlyList<string> Ids => _ids;

    // The configuration the cluster was created with; a node added later starts with it too.
    public IReadOnlyList<string> InitialVoters { get; }

    public static async Task<TestCluster> StartAsync(
        int size = 3,
        Func<string, ILogStore>? logStore = null,
        Func<RaftNodeOptions, RaftNodeOptions>? configure = null,
        TimeProvider? timeProvider = null)
    {
        var cluster = new TestCluster([.. Enumerable.Range(1, size).Select(i => $"n{i}")], configure, timeProvider);
        foreach (var id in cluster.Ids)
        {
            var member = new Member(logStore?.Invoke(id) ?? new InMemoryLogStore(), new InMemoryHardStateStore());
            cluster._members[id] = member;
            await cluster.StartMemberAsync(id, member);
        }

        return cluster;
    }

    public static RaftNodeOptions Options(string id, IReadOnlyList<string> voters) => new()
    {
        Raft = new RaftOptions { Id = id, Voters = voters, ElectionTick = 10, HeartbeatTick = 1 },
        TickInterval = TickInterval,
    };

    public RaftNode Node(string id) => _members[id].Node!;

    public TestStateMachine StateMachine(string id) => _members[id].StateMachine!;

    public ILogStore LogStore(string id) => _members[id].LogStore;

    public InMemorySnapshotStore SnapshotStore(string id) => _members[id].SnapshotStore;

    // The nodes currently running.
    public IEnumerable<RaftNode> Nodes => RunningIds.Select(Node);

    public IReadOnlyList<string> RunningIds => [.. Ids.Where(id => _members[id].Node is not null)];

    // A leader among `among` (all nodes by default) that every other node of `among` follows, in a term above minTerm.
    public async Task<RaftNode> WaitForLeaderAsync(IReadOnlyCollection<string>? among = null, long minTerm = 0)
    {
        among ??= RunningIds;
        RaftNode? found = null;
        await Eventually.TrueAsync(
            () =>
            {
                found = among.Select(Node).FirstOrDefault(n => n.IsLeader && n.Status.Term > minTerm);
                return found is not null && among.All(id => Node(id).Status.LeaderId == found.Id);
            },
            $"a leader among [{string.Join(", ", among)}] in a term above {minTerm}");
        return found!;
    }

    // Proposes on whichever node leads, retrying what a leadership change refused (never appended, or superseded).
    public async Task<ProposalResult> ProposeWithRetryAsync(string command, IReadOnlyCollection<string>? among = null)
    {
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (true)
        {
            var leader = await WaitForLeaderAsync(among);
            try
            {
                return await leader.ProposeAsync(Encoding.UTF8.GetBytes(command));
            }
            catch (Exception ex) when (ex is NotLeaderException or ProposalDroppedException or ProposalSupersededException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TickInterval);
            }
        }
    }

    // A linearizable read on `id`, retried while leadership moves; returns the read index.
    public async Task<long> ReadWithRetryAsync(string id)
    {
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (true)
        {
            try
            {
                return await Node(id).WaitForLinearizableReadAsync();
            }
            catch (Exception ex) when (ex is NotLeaderException or RaftTimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TickInterval);
            }
        }
    }

    // Waits until the state machine of every running node (or of `among`) has applied the command at `index` (or
    // a later one: state machines apply in log order).
    public Task WaitForAppliedAsync(long index, IReadOnlyCollection<string>? among = null)
    {
        among ??= RunningIds;
        return Eventually.TrueAsync(
            () => among.All(id => StateMachine(id).Applied is { Count: > 0 } applied && applied[^1].Index >= index),
            $"the state machines of [{string.Join(", ", among)}] to apply up to index {index}");
    }

    // The normal entries applied on `id` up to `index`, as (index, command).
    public IReadOnlyList<(long Index, string Command)> AppliedUpTo(string id, long index) =>
        [.. StateMachine(id).Applied.TakeWhile(a => a.Index <= index)];

    public async Task StopNodeAsync(string id)
    {
        var member = _members[id];
        if (member.Node is { } node)
        {
            await node.StopAsync();
            await member.Transport!.DisposeAsync();
            member.Node = null;
        }
    }

    // A restart: a new node, transport and (empty) state machine on the same durable stores (snapshots included).
    public async Task RestartNodeAsync(string id)
    {
        await StopNodeAsync(id);
        await StartMemberAsync(id, _members[id]);
    }

    // Starts a node that is not in the configuration yet (add it as a learner from the leader).
    public async Task<RaftNode> AddNodeAsync(string id)
    {
        var member = new Member(new InMemoryLogStore(), new InMemoryHardStateStore());
        _members.Add(id, member);
        _ids.Add(id);
        await StartMemberAsync(id, member);
        return member.Node!;
    }

    public async ValueTask DisposeAsync()
    {
        Network.Heal();
        foreach (var id in Ids)
        {
            await StopNodeAsync(id);
        }
    }

    private async Task StartMemberAsync(string id, Member member)
    {
        member.Transport = Network.CreateTransport(id);
        member.StateMachine = new TestStateMachine();
        var options = Options(id, InitialVoters);
        options = _configure?.Invoke(options) ?? options;
        member.Node = new RaftNode(options, member.LogStore, member.HardStateStore, member.SnapshotStore, member.Transport, member.StateMachine, _timeProvider, Log);
        await member.Node.StartAsync();
    }

    private sealed class Member(ILogStore logStore, IHardStateStore hardStateStore)
    {
        public ILogStore LogStore { get; } = logStore;

        public IHardStateStore HardStateStore { get; } = hardStateStore;

        public InMemorySnapshotStore SnapshotStore { get; } = new();

        public InMemoryTransport? Transport { get; set; }

        public TestStateMachine? StateMachine { get; set; }

        public RaftNode? Node { get; set; }
    }
}
