using System.Globalization;
using System.Net;
using Benchmarks.DotNext;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging;

// One DotNext Raft node, the grpc benchmark's baseline: tests/Benchmarks' `dotnext` mode starts three and drives them
// through standard input, one command a line, each answered by one line on standard output:
//   status           -> STATUS <leader|follower> <term> <leader endpoint or none>
//   load C P         -> LOADING           (C writers of P-byte puts start on this node; meant for the leader)
//   measure          -> MEASURING         (commits from now on are counted and timed)
//   result           -> RESULT committed=… seconds=… p50=… p99=… failed=…   (counting stops; the writers go on)
// The parent kills the process (SIGKILL) when done.
//
// usage: Benchmarks.DotNext --listen 127.0.0.1:PORT --members A:P,B:P,C:P --data DIR [--wal private|shared|direct] [--log-level Warning]
var options = args.Chunk(2).Where(p => p.Length == 2).ToDictionary(p => p[0].TrimStart('-'), p => p[1], StringComparer.Ordinal);
var listen = IPEndPoint.Parse(options["listen"]);
var members = options["members"].Split(',').Select(IPEndPoint.Parse).ToArray();
var data = options["data"];
var wal = options.GetValueOrDefault("wal", "shared");
var level = Enum.Parse<LogLevel>(options.GetValueOrDefault("log-level", "Warning"), ignoreCase: true);

using var loggerFactory = LoggerFactory.Create(b => b
    .AddSimpleConsole(o =>
    {
        o.SingleLine = true;
        o.TimestampFormat = "HH:mm:ss.fff ";
    })
    .SetMinimumLevel(level));

var stateMachine = new KvStore(new DirectoryInfo(Path.Combine(data, "snapshots")));
await stateMachine.RestoreAsync();
await using var log = new WriteAheadLog(WalOptions.Create(Path.Combine(data, "wal"), wal), stateMachine);

// Checked for a better configuration (10 s runs at C = 256, P = 64 on a 2-core host, alternated; committed ops/s): with
// private pages and 150-300 ms elections 25.2k, 21.5k, 20.6k, 20.5k, 23.0k (median 21.5k). Since then the default is
// shared pages (DotNext's own default, the faster one here) and our election timeouts. None of these was materially
// (≥ 15 %) faster: MaxReplicationLag 64 instead of 16, 21.6k (DotNext's leader runs one AppendEntries round at a time: it waits for
// a majority and its own commit before the next, so a deeper per-follower queue has nothing to pipeline); concurrent GC
// (DOTNET_gcConcurrent=1, which DotNext's leader loop would use for SustainedLowLatency), 21.9k; 8 minimum worker
// threads (DOTNET_ThreadPool_ForceMinWorkerThreads), 21.1k; --wal shared 23.9k, 23.7k, 23.9k (+11 %, see WalOptions.cs);
// --wal direct 19.6k. DotNext 6.12 has no UDP transport and no other batching knob (ReplicateAsync is AppendAsync +
// ForceReplication + WaitForApplyAsync; entries appended meanwhile go in the next round, up to TransmissionBlockSize per
// network round trip). HeartbeatThreshold only paces idle heartbeats: under load every ReplicateAsync forces a round.
var configuration = new RaftCluster.TcpConfiguration(listen)
{
    // An in-memory membership (null makes DotNext create one), filled below with all three members: a static cluster
    // like the KeyValueStore nodes', so ColdStart (a one-node bootstrap) is off.
    ConfigurationStorage = null!,
    ColdStart = false,

    // Election timeouts drawn from [200, 400] ms, as ours (10 ticks of 20 ms, drawn from [200, 400) ms): at 150-300 ms
    // one run in nine lost its leader for seconds on this busy host. A heartbeat every quarter of the lower timeout,
    // 50 ms (ours: every tick, 20 ms); under load every ReplicateAsync forces a round anyway.
    LowerElectionTimeout = 200,
    UpperElectionTimeout = 400,
    HeartbeatThreshold = 0.25,

    // A request (one AppendEntries, with the receiver's sync up to the commit index it carries) may take up to the
    // upper election timeout before the sender gives up on it (DotNext's default is the lower one): on a busy 2-core
    // host a slow answer should not count as a lost follower sooner than an election would.
    RequestTimeout = TimeSpan.FromMilliseconds(400),

    // How much an AppendEntries streams before it waits for the receiver's go-ahead: one such block per round trip.
    // DotNext's default, 65535 B, already moves a whole batch at C = 256 of 64-byte commands (about 256 × 100 B with
    // its framing); spelled out because it is the transport's one batching knob.
    TransmissionBlockSize = 65535,
    LoggerFactory = loggerFactory,
};
var membership = (InMemoryClusterConfigurationStorage<EndPoint>)configuration.ConfigurationStorage;
var initial = membership.CreateInitialConfigurationBuilder();
foreach (var member in members)
{
    initial.Add(member);
}

initial.Build();

// StartAsync initializes the log (replays committed entries into the state machine) before it listens.
using var cluster = new RaftCluster(configuration) { AuditTrail = log };
await cluster.StartAsync(CancellationToken.None);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"READY {listen} wal={wal}"));

LoadGenerator? load = null;
while (Console.ReadLine() is { } line)
{
    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    switch (words.FirstOrDefault())
    {
        case "status":
            var leader = cluster.Leader;
            var role = leader is { IsRemote: false } ? "leader" : "follower";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"STATUS {role} {cluster.Term} {leader?.EndPoint.ToString() ?? "none"}"));
            break;
        case "load":
            load = new LoadGenerator(cluster, int.Parse(words[1], CultureInfo.InvariantCulture), int.Parse(words[2], CultureInfo.InvariantCulture));
            load.Start();
            Console.WriteLine("LOADING");
            break;
        case "measure":
            load?.BeginMeasuring();
            Console.WriteLine("MEASURING");
            break;
        case "result":
            Console.WriteLine(load?.EndMeasuring() ?? "RESULT none");
            break;
        default:
            Console.WriteLine($"ERROR unknown command '{line}'");
            break;
    }
}

// Standard input closed: the parent is gone.
if (load is not null)
{
    await load.StopAsync();
}

await cluster.StopAsync(CancellationToken.None);
