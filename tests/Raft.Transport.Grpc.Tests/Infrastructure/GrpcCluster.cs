using Raft.Core;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Testing.Conformance;
using Raft.Transport.Grpc.Client;
using Raft.Transport.Grpc.Hosting;

namespace Raft.Transport.Grpc.Tests.Infrastructure;

// Real RaftNodes (in-memory stores, key-value state machine) talking over gRPC on loopback, each with a standalone
// server that also hosts the client service.
public sealed class GrpcCluster : IAsyncDisposable
{
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(20);

    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);

    private readonly bool _readIndex;
    private readonly long _snapshotEvery;

    private GrpcCluster(IReadOnlyList<string> ids, bool readIndex, long snapshotEvery)
    {
        Ids = ids;
        _readIndex = readIndex;
        _snapshotEvery = snapshotEvery;
    }

    public IReadOnlyList<string> Ids { get; }

    public IEnumerable<RaftNode> Nodes => _members.Values.Where(m => m.Node is not null).Select(m => m.Node!);

    // With readIndex, reads are served by the receiving node after a read index; otherwise through the log.
    // snapshotEvery: each node snapshots and compacts its log every that many entries (keeping 10); 0 for the defaults.
    public static async Task<GrpcCluster> StartAsync(int size = 3, bool readIndex = false, long snapshotEvery = 0)
    {
        var cluster = new GrpcCluster([.. Enumerable.Range(1, size).Select(i => $"n{i}")], readIndex, snapshotEvery);

        // Servers first, on free ports; then every transport learns the others' addresses; then the nodes start.
        foreach (var id in cluster.Ids)
        {
            var member = new Member();
            member.Transport = new GrpcRaftTransport(TestNode.Options(id, "kv"), TestLogging.Factory);
            member.Node = cluster.NewNode(id, member);
            member.Server = new GrpcRaftServer(member.Transport, member.Node, TestLogging.Factory, readIndex ? member.StateMachine : null);
            await member.Server.StartAsync();
            member.Port = member.Server.Address!.Port;
            cluster._members[id] = member;
        }

        foreach (var (id, member) in cluster._members)
        {
            foreach (var (otherId, other) in cluster._members.Where(m => m.Key != id))
            {
                member.Transport!.SetPeer(otherId, $"127.0.0.1:{other.Port}");
            }
        }

        foreach (var member in cluster._members.Values)
        {
            await member.Node!.StartAsync();
        }

        return cluster;
    }

    public RaftNode Node(string id) => _members[id].Node!;

    public LockedKvStateMachine StateMachine(string id) => _members[id].StateMachine;

    internal GrpcRaftServer Server(string id) => _members[id].Server!;

    public string Endpoint(string id) => $"127.0.0.1:{_members[id].Port}";

    public GrpcRaftClient Client(params string[] ids) => new(new GrpcRaftClientOptions
    {
        ClusterId = "kv",
        Endpoints = [.. (ids.Length == 0 ? Ids : ids).Select(Endpoint)],
    });

    public async Task<RaftNode> WaitForLeaderAsync(long minTerm = 0)
    {
        RaftNode? found = null;
        var running = Nodes.ToList();
        await Eventually.TrueAsync(
            () =>
            {
                found = running.FirstOrDefault(n => n.IsLeader && n.Status.Term > minTerm);
                return found is not null && running.All(n => n.Status.LeaderId == found.Id);
            },
            $"a leader that every running node follows, in a term above {minTerm}");
        return found!;
    }

    // A crash of the whole node: its Raft node, transport and server stop; its stores survive for a restart.
    public async Task StopAsync(string id)
    {
        var member = _members[id];
        if (member.Node is null)
        {
            return;
        }

        await member.Node.StopAsync();
        await member.Transport!.DisposeAsync();
        await member.Server!.StopAsync();
        member.Node = null;
    }

    // A node on its way out: its Raft node stopped and its transport disposed, while its server still takes calls.
    public async Task StopNodeKeepServingAsync(string id)
    {
        var member = _members[id];
        await member.Node!.StopAsync();
        await member.Transport!.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in Ids)
        {
            await StopAsync(id);
        }
    }

    // A restart on the same port: new transport, server and node; with wipe, on empty stores (a replaced machine).
    public async Task RestartAsync(string id, bool wipe = false)
    {
        await StopAsync(id);
        var old = _members[id];
        var member = wipe ? new Member { Port = old.Port } : old;
        _members[id] = member;
        member.StateMachine = new LockedKvStateMachine();
        member.Transport = new GrpcRaftTransport(TestNode.Options(id, "kv", member.Port), TestLogging.Factory);
        foreach (var (otherId, other) in _members.Where(m => m.Key != id))
        {
            member.Transport.SetPeer(otherId, $"127.0.0.1:{other.Port}");
        }

        member.Node = NewNode(id, member);
        member.Server = new GrpcRaftServer(member.Transport, member.Node, TestLogging.Factory, _readIndex ? member.StateMachine : null);
        await member.Server.StartAsync();
        await member.Node.StartAsync();
    }

    private RaftNode NewNode(string id, Member member) => new(
        new RaftNodeOptions
        {
            Raft = new RaftOptions { Id = id, Voters = Ids, ElectionTick = 10, HeartbeatTick = 1, SnapshotTrailingEntries = _snapshotEvery > 0 ? 10 : 1024 },
            TickInterval = TickInterval,
            SnapshotEntryThreshold = _snapshotEvery > 0 ? _snapshotEvery : 100_000,
        },
        member.LogStore,
        member.HardStateStore,
        member.Transport!,
        member.StateMachine,
        loggerFactory: TestLogging.Factory);

    private sealed class Member
    {
        public InMemoryLogStore LogStore { get; } = new();

        public InMemoryHardStateStore HardStateStore { get; } = new();

        public LockedKvStateMachine StateMachine { get; set; } = new();

        public GrpcRaftTransport? Transport { get; set; }

        public GrpcRaftServer? Server { get; set; }

        public RaftNode? Node { get; set; }

        public int Port { get; set; }
    }
}
