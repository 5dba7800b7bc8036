using System.Collections.Concurrent;
using System.Diagnostics;
using KeyValueStore.Store;
using Raft.Testing.Linearizability;
using Raft.Testing.Processes;
using Raft.Transport.Grpc.Client;
using Xunit.Abstractions;

namespace KeyValueStore.Tests;

// Three real node processes (gRPC between them, FASTER on disk) on loopback. Concurrent clients write and read while
// the leader is killed with SIGKILL and later restarted from its directory. At the end every acknowledged write is
// there (read through the restarted node), and the recorded history is linearizable.
[Trait("Category", "Slow")]
public sealed class MultiProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Clients = 6;
    private static readonly string[] SharedKeys = ["k0", "k1", "k2", "k3", "k4"];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "kv-multiprocess-" + Guid.NewGuid().ToString("N"));
    private readonly HistoryRecorder<KvInput, KvOutput> _history = new();
    private readonly ConcurrentDictionary<string, string> _acknowledgedUniqueWrites = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private List<NodeProcess> _nodes = [];
    private int _unknownOutcomes;

    public Task InitializeAsync()
    {
        var ids = new[] { "n1", "n2", "n3" };
        var ports = ids.Select(_ => FreePorts.Next()).ToArray();
        _nodes = [.. ids.Select((id, i) => new NodeProcess(
            id, ports[i], ids.Select((p, j) => (p, j)).Where(x => x.p != id).ToDictionary(x => x.p, x => ports[x.j]), Path.Combine(_directory, id)))];
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory.
        }
    }

    [Fact]
    public async Task LeaderKilledAndRestarted_EveryAcknowledgedWriteSurvives_AndTheHistoryIsLinearizable()
    {
        await Task.WhenAll(_nodes.Select(n => n.StartAsync()));
        await using var client = NewClient(_nodes);
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, Clients).Select(c => Task.Run(() => RunClientAsync(client, c, stop.Token))).ToArray();

        try
        {
            // Each phase lasts a few seconds and sees a few hundred operations, however slow the machine is.
            await RunPhaseAsync(TimeSpan.FromSeconds(3), 300);
            var leader = await FindLeaderAsync(client);
            output.WriteLine($"{_clock.Elapsed}: killing leader {leader.Id} after {_history.Completed} operations");
            await leader.KillAsync();

            await RunPhaseAsync(TimeSpan.FromSeconds(4), 300);
            output.WriteLine($"{_clock.Elapsed}: restarting {leader.Id} after {_history.Completed} operations");
            await leader.StartAsync();
            await RunPhaseAsync(TimeSpan.FromSeconds(3), 300);

            await stop.CancelAsync();
            await Task.WhenAll(workers);
            output.WriteLine($"{_clock.Elapsed}: {_history.Completed} operations completed, {_history.Failed} certainly not applied, " +
                             $"{_unknownOutcomes} with an unknown outcome, {_acknowledgedUniqueWrites.Count} acknowledged unique writes");

            // The restarted node serves reads from its own state (read index), so this also checks its recovery and catch-up.
            await using var restarted = NewClient([leader]);
            foreach (var (key, value) in _acknowledgedUniqueWrites)
            {
                var read = KvResult.Decode((await restarted.ReadAsync(new KvCommand(KvOperation.Get, key).Encode())).Result);
                Assert.True(value == read.Value, $"acknowledged write {key}={value} reads back as {read.Value ?? "(absent)"}");
            }

            Assert.True(_history.Completed > 100, $"too little progress: {_history.Completed} operations");
            var check = LinearizabilityChecker.Check(KvModel.Instance, _history.Build(KvOutput.Indeterminate), TimeSpan.FromSeconds(60));
            output.WriteLine($"linearizability: {check.Outcome}");
            Assert.True(check.Outcome == CheckOutcome.Ok, check.ToString());
        }
        catch
        {
            foreach (var node in _nodes)
            {
                output.WriteLine(node.Output);
            }

            throw;
        }
    }

    private async Task RunPhaseAsync(TimeSpan atLeast, int operations)
    {
        var start = _clock.Elapsed;
        var target = _history.Completed + operations;
        while (_clock.Elapsed - start < atLeast || (_history.Completed < target && _clock.Elapsed - start < TimeSpan.FromSeconds(30)))
        {
            await Task.Delay(50);
        }
    }

    private static GrpcRaftClient NewClient(IEnumerable<NodeProcess> nodes) => new(new GrpcRaftClientOptions
    {
        ClusterId = "kv-test",
        Endpoints = [.. nodes.Select(n => n.Endpoint)],
        AttemptTimeout = TimeSpan.FromSeconds(3),
        RetryBudget = TimeSpan.FromSeconds(20),
    });

    private async Task RunClientAsync(GrpcRaftClient client, int clientId, CancellationToken stop)
    {
        var random = new Random(clientId);
        var lastSeen = new Dictionary<string, string?>();
        var sequence = 0;
        while (!stop.IsCancellationRequested)
        {
            sequence++;
            var key = SharedKeys[random.Next(SharedKeys.Length)];
            var value = $"c{clientId}-{sequence}";
            var roll = random.Next(100);
            var (input, command) = roll switch
            {
                < 35 => (KvInput.Put(key, value), new KvCommand(KvOperation.Put, key, value)),
                < 70 => (KvInput.Get(key), new KvCommand(KvOperation.Get, key)),
                < 85 => (KvInput.Cas(key, lastSeen.GetValueOrDefault(key), value), new KvCommand(KvOperation.Cas, key, value, lastSeen.GetValueOrDefault(key))),
                < 90 => (KvInput.Delete(key), new KvCommand(KvOperation.Delete, key)),
                _ => (KvInput.Put($"u-{value}", value), new KvCommand(KvOperation.Put, $"u-{value}", value)),
            };

            var op = _history.Invoke(clientId, input, _clock.ElapsedTicks);
            try
            {
                var reply = command.Operation == KvOperation.Get
                    ? await client.ReadAsync(command.Encode(), CancellationToken.None)
                    : await client.ProposeAsync(command.Encode(), CancellationToken.None);
                var result = KvResult.Decode(reply.Result);
                var now = _clock.ElapsedTicks;
                switch (command.Operation)
                {
                    case KvOperation.Get:
                        lastSeen[key] = result.Value;
                        _history.Complete(op, KvOutput.Read(result.Value), now);
                        break;
                    case KvOperation.Cas:
                        lastSeen[key] = result.Ok ? command.Value : result.Value;
                        _history.Complete(op, KvOutput.CasResult(result.Ok), now);
                        break;
                    default:
                        _history.Complete(op, KvOutput.Done(), now);
                        if (command.Key.StartsWith("u-", StringComparison.Ordinal))
                        {
                            _acknowledgedUniqueWrites[command.Key] = command.Value!;
                        }

                        break;
                }
            }
            catch (RaftClientException ex) when (!ex.OutcomeUnknown)
            {
                _history.Fail(op, _clock.ElapsedTicks);
            }
            catch (RaftClientException) when (command.Operation == KvOperation.Get)
            {
                // A read changes nothing: one that never answered constrains no linearization, so it leaves the
                // history (keeping it as "unknown" only widens the checker's search).
                _history.Fail(op, _clock.ElapsedTicks);
            }
            catch (RaftClientException)
            {
                // Left pending: the checker lets it take effect at any point after its call, or never.
                Interlocked.Increment(ref _unknownOutcomes);

                // Like a real client, back off before trying again instead of piling up writes whose outcome is
                // unknown while the cluster elects a new leader.
                await Task.Delay(random.Next(20, 60), CancellationToken.None);
            }
        }
    }

    private async Task<NodeProcess> FindLeaderAsync(GrpcRaftClient client)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var statuses = await client.GetStatusAsync();
            if (statuses.FirstOrDefault(s => s.Role == Raft.Core.Engine.StateRole.Leader) is { } leader)
            {
                return _nodes.Single(n => n.Id == leader.Id);
            }

            Assert.True(DateTime.UtcNow < deadline, "no leader within 30 s");
            await Task.Delay(50);
        }
    }
}
