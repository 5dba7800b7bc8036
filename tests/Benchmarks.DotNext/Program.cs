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
var wal = options.GetValueOrDefault("wal", "private");
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

var configuration = new RaftCluster.TcpConfiguration(listen)
{
    // An in-memory membership (null makes DotNext create one), filled below with all three members: a static cluster
    // like the KeyValueStore nodes', so ColdStart (a one-node bootstrap) is off.
    ConfigurationStorage = null!,
    ColdStart = false,

    // Election timeouts drawn from [150, 300] ms (ours: 10 ticks of 20 ms, drawn from [200, 400) ms); a heartbeat
    // every third of the lower timeout, 50 ms (ours: every tick, 20 ms).
    LowerElectionTimeout = 150,
    UpperElectionTimeout = 300,
    HeartbeatThreshold = 1.0 / 3,

    // A request (one AppendEntries, with the receiver's sync up to the commit index it carries) may take up to the
    // upper election timeout before the sender gives up on it (DotNext's default is the lower one, 150 ms): on a busy
    // 2-core host a slow answer should not count as a lost follower sooner than an election would.
    RequestTimeout = TimeSpan.FromMilliseconds(300),

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
