using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Raft.Networking;
using Orleans.Raft.StateMachine;
using Raft.Core;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.StateMachine;
using Raft.Core.Storage;
using Raft.Testing.Conformance;
using Raft.Testing.Logging;
using Raft.Testing.Processes;

namespace Orleans.Raft.Tests;

// The batched forwarding stream of the gRPC network: its frames, and its failure contract (a write that was never sent
// is reported as not applied; only a sent write may be reported as unknown).
public sealed class ForwardingTests
{
    [Fact]
    public void Frames_RoundTripManyRequestsAndReplies()
    {
        var requests = new[] { new ForwardRequest(1, new byte[] { 1, 2, 3 }), new ForwardRequest(2, Array.Empty<byte>()), new ForwardRequest(long.MaxValue, new byte[300]) };
        var decoded = ForwardingFrames.DecodeRequests(ForwardingFrames.EncodeRequests(requests));
        Assert.Equal(requests.Select(r => (r.Id, Bytes: r.Command.ToArray())), decoded.Select(r => (r.Id, Bytes: r.Command.ToArray())), new TupleComparer());

        var replies = new[]
        {
            new ForwardReply(7, ForwardOutcome.Applied, 42, new byte[] { 9 }),
            new ForwardReply(8, ForwardOutcome.NotLeader, 0, ForwardingFrames.Text("not the leader")),
            new ForwardReply(9, ForwardOutcome.Unknown, 0, ReadOnlyMemory<byte>.Empty),
        };
        var back = ForwardingFrames.DecodeReplies(ForwardingFrames.EncodeReplies(replies));
        Assert.Equal(replies.Select(r => (r.Id, r.Outcome, r.Index, r.Detail)), back.Select(r => (r.Id, r.Outcome, r.Index, r.Detail)));
    }

    [Fact]
    public void Frames_Malformed_AreRefused()
    {
        var frame = ForwardingFrames.EncodeRequests([new ForwardRequest(1, new byte[10])]);
        Assert.Throws<InvalidDataException>(() => ForwardingFrames.DecodeRequests(frame[..^1]));
        var reply = ForwardingFrames.EncodeReplies([new ForwardReply(1, ForwardOutcome.Applied, 1, new byte[4])]);
        reply[8] = 99;
        Assert.Throws<InvalidDataException>(() => ForwardingFrames.DecodeReplies(reply));
    }

    [Fact]
    public async Task Forward_ToAnAddressNobodyListensOn_FailsAsNotApplied()
    {
        await using var client = new ForwardingClient("n2", "n1", new Uri($"http://127.0.0.1:{FreePorts.Next()}"), "group", 1 << 20, NullLogger.Instance);
        await Assert.ThrowsAsync<NotLeaderException>(() => client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None));
    }

    [Fact]
    public async Task Forward_ToTheLeader_IsAppliedAndRefusedForAnotherGroupOrAnUnknownSender()
    {
        var machine = new GrainStateMachine();
        await using var group = await OneNodeGroup.StartAsync(machine);
        var leader = group.Address;

        // Many writes at once share messages; each gets its own answer (here: a new session id, its log index).
        await using (var client = new ForwardingClient("n2", "n1", leader, "group", 1 << 20, NullLogger.Instance))
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None)));
            Assert.Equal(50, results.Select(r => r.Index).Distinct().Count());
            Assert.All(results, r => Assert.Equal(r.Index, CommandAnswer.Decode(r.Response.Span).ETag));

            // A write whose caller gave up before forwarding it is never sent (the next one is applied).
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ForwardAsync(GrainStateCommand.RegisterSession(), new CancellationToken(canceled: true)));
            await client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None);
            Assert.Equal(51, machine.SessionCount);
        }

        await using (var wrongGroup = new ForwardingClient("n2", "n1", leader, "another-group", 1 << 20, NullLogger.Instance))
        {
            var refused = await Assert.ThrowsAsync<NotLeaderException>(() => wrongGroup.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None));
            Assert.Contains("another-group", refused.Message, StringComparison.Ordinal);
        }

        await using (var stranger = new ForwardingClient("n9", "n1", leader, "group", 1 << 20, NullLogger.Instance))
        {
            var refused = await Assert.ThrowsAsync<NotLeaderException>(() => stranger.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None));
            Assert.Contains("n9", refused.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Forward_ToALeaderThatStops_EndsWithAGoodbyeAtOnce_AndLaterWritesAreNotApplied()
    {
        var log = new TestLog();
        await using var group = await OneNodeGroup.StartAsync(new GrainStateMachine(), log);
        var (connection, node) = (group.Connection, group.Node);
        await using var client = new ForwardingClient("n2", "n1", group.Address, "group", 1 << 20, log.CreateLogger("n2"));
        await client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None);

        // The node stops first (as the provider stops it): a write that reaches its endpoint afterwards was
        // certainly not applied, and says so.
        await node.StopAsync();
        var late = await Assert.ThrowsAsync<NotLeaderException>(() => client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None));
        Assert.Contains("not applied", late.Message, StringComparison.Ordinal);

        // Then the endpoint: it ends the forwarding stream itself, with a goodbye, instead of holding its stop
        // until the server's 2 s timeout cuts the stream off.
        var stopping = Stopwatch.StartNew();
        await connection.DisposeAsync();
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(2), $"the endpoint took {stopping.Elapsed} to stop:{Environment.NewLine}{log}");
        await Eventually.TrueAsync(() => log.Entries.Any(e => e.EventId.Id == 4205), "the follower to take the leader's goodbye");
        Assert.Contains(log.Entries, e => e.EventId.Id == 4204);
        Assert.DoesNotContain(log.Entries, e => e.EventId.Id == 4203);

        // Nothing listens any more: the next write is not applied either.
        await Assert.ThrowsAsync<NotLeaderException>(() => client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None));
    }

    [Fact]
    public async Task Forward_WritesInFlightWhenTheLeadersEndpointStops_EachGetItsOwnAnswer()
    {
        var log = new TestLog();
        var machine = new GatedStateMachine(new GrainStateMachine());
        await using var group = await OneNodeGroup.StartAsync(machine, log);
        var (connection, node) = (group.Connection, group.Node);
        await using var client = new ForwardingClient("n2", "n1", group.Address, "group", 1 << 20, log.CreateLogger("n2"));
        try
        {
            await client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None);

            // Twenty writes proposed and held at the state machine when the endpoint (not the node) stops.
            machine.Close();
            var inFlight = Enumerable.Range(0, 20).Select(_ => client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None)).ToArray();
            await Eventually.TrueAsync(() => machine.Held > 0, "a write to reach the state machine");
            var stopping = connection.DisposeAsync().AsTask();
            await Eventually.TrueAsync(() => log.Entries.Any(e => e.EventId.Id == 4205), "the follower to take the leader's goodbye");
            machine.Open();

            // Each is answered on the stream that carried it, after the goodbye: none is left of unknown outcome.
            var results = await Task.WhenAll(inFlight).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(20, results.Select(r => r.Index).Distinct().Count());
            await stopping;
            Assert.Contains(log.Entries, e => e.EventId.Id == 4204);
            Assert.DoesNotContain(log.Entries, e => e.EventId.Id is 4202 or 4203);

            // A write after the goodbye goes to a new call, which the stopped endpoint never accepts: not applied.
            await Assert.ThrowsAsync<NotLeaderException>(() => client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None));
            await node.StopAsync();
            Assert.Equal(21, machine.Inner.SessionCount);
        }
        finally
        {
            machine.Open();
        }
    }

    [Fact]
    public async Task Forward_UnderLoadWhileTheLeadersEndpointStops_NoWriteReportedNotAppliedIsApplied()
    {
        var machine = new GrainStateMachine();
        await using var group = await OneNodeGroup.StartAsync(machine);
        var (connection, node) = (group.Connection, group.Node);
        await using var client = new ForwardingClient("n2", "n1", group.Address, "group", 1 << 20, NullLogger.Instance);
        long applied = 0, notApplied = 0, unknown = 0;
        using var enough = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            while (!enough.IsCancellationRequested)
            {
                try
                {
                    await client.ForwardAsync(GrainStateCommand.RegisterSession(), CancellationToken.None);
                    Interlocked.Increment(ref applied);
                }
                catch (Exception ex) when (ex is NotLeaderException or ProposalDroppedException or ProposalSupersededException)
                {
                    Interlocked.Increment(ref notApplied);
                }
                catch (ProposalResultUnknownException)
                {
                    Interlocked.Increment(ref unknown);
                }
            }
        })).ToArray();

        await Eventually.TrueAsync(() => Interlocked.Read(ref applied) > 500, "writes to flow");
        await connection.DisposeAsync();
        await Eventually.TrueAsync(() => Interlocked.Read(ref notApplied) > 100, "writes to be refused once the endpoint stopped");
        await enough.CancelAsync();
        await Task.WhenAll(workers);
        await node.StopAsync();

        // Every session the state machine registered was a write reported applied, or one of unknown outcome.
        var sessions = machine.SessionCount;
        Assert.InRange(sessions, applied, applied + unknown);
    }

    // A one-node group "n1" on the gRPC network, leading, its endpoint on a free port; disposing stops the node, then
    // the endpoint (each may have been stopped already).
    private sealed record OneNodeGroup(Uri Address, IRaftStorageConnection Connection, RaftNode Node) : IAsyncDisposable
    {
        public static async Task<OneNodeGroup> StartAsync(IStateMachine machine, ILoggerFactory? log = null)
        {
            var port = FreePorts.Next();
            var members = new Dictionary<string, string> { ["n1"] = $"127.0.0.1:{port}", ["n2"] = "127.0.0.1:1" };
            var connection = await new GrpcRaftStorageNetwork().ConnectAsync(new RaftStorageEndpoint("group", "n1", members, log ?? NullLoggerFactory.Instance));
            var node = new RaftNode(
                new RaftNodeOptions { Raft = new RaftOptions { Id = "n1", Voters = ["n1"] }, TickInterval = TimeSpan.FromMilliseconds(10) },
                new InMemoryLogStore(), new InMemoryHardStateStore(), connection.Transport, machine);
            var group = new OneNodeGroup(new Uri($"http://127.0.0.1:{port}"), connection, node);
            try
            {
                await connection.StartAsync(node);
                await node.StartAsync();
                await node.WaitForLeaderAsync().WaitAsync(TimeSpan.FromSeconds(10));
                return group;
            }
            catch
            {
                await group.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Node.StopAsync();
            await Connection.DisposeAsync();
        }
    }

    // Holds every apply while closed, so that proposals stay in flight.
    private sealed class GatedStateMachine(GrainStateMachine inner) : IStateMachine
    {
        private volatile TaskCompletionSource _gate = CompletedGate();
        private int _held;

        public GrainStateMachine Inner => inner;

        public int Held => Volatile.Read(ref _held);

        public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _gate.TrySetResult();

        public async ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default)
        {
            var gate = _gate;
            if (!gate.Task.IsCompleted)
            {
                Interlocked.Increment(ref _held);
                await gate.Task.WaitAsync(cancellationToken);
            }

            return await inner.ApplyAsync(entry, cancellationToken);
        }

        public ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default) => inner.WriteSnapshotAsync(destination, cancellationToken);

        public ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default) => inner.RestoreSnapshotAsync(source, cancellationToken);

        private static TaskCompletionSource CompletedGate()
        {
            var gate = new TaskCompletionSource();
            gate.SetResult();
            return gate;
        }
    }

    private sealed class TupleComparer : IEqualityComparer<(long Id, byte[] Bytes)>
    {
        public bool Equals((long Id, byte[] Bytes) x, (long Id, byte[] Bytes) y) => x.Id == y.Id && x.Bytes.AsSpan().SequenceEqual(y.Bytes);

        public int GetHashCode((long Id, byte[] Bytes) obj) => obj.Id.GetHashCode();
    }
}
