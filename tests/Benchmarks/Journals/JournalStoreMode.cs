using System.Diagnostics;
using Orleans.Raft.StateMachine;
using Raft.Core.Messages;

namespace Benchmarks.Journals;

/// <summary>
/// The Orleans.Raft journal store (issue 7): the cost of recording one event (encode the command, apply it to the
/// replicated state machine) as a grain's history grows, against rewriting the whole history as one grain state (what
/// Orleans' LogStorage does over any IGrainStorage). No Raft, no network: the state machine's share of a write.
/// </summary>
internal sealed class JournalStoreMode : IBenchmarkMode
{
    private const int RecordSize = 64;

    public string Name => "journal-store";

    public string Description => "journal append vs whole-history rewrite per event, histories of 10, 1k, 100k records [--quick]";

    public Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        if (args.Any(a => a != "--quick"))
        {
            Console.Error.WriteLine("journal-store takes only --quick.");
            return Task.FromResult(2);
        }

        // Warm-up (JIT, tiered compilation), not reported.
        Measure(100, quick: true, rewrite: false);
        Measure(100, quick: true, rewrite: true);

        Console.WriteLine($"record {RecordSize} B; per event: encode the command + apply it (one event per command)");
        Console.WriteLine("| history (records) | journal append: ns/event | B allocated/event | whole-history rewrite: ns/event | B allocated/event | rewrite / append |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var history in new[] { 10, 1_000, 100_000 })
        {
            var append = Measure(history, quick, rewrite: false);
            var rewrite = Measure(history, quick, rewrite: true);
            Console.WriteLine(
                $"| {history:N0} | {append.Nanoseconds:N0} | {append.Bytes:N0} | {rewrite.Nanoseconds:N0} | {rewrite.Bytes:N0} | {rewrite.Nanoseconds / append.Nanoseconds:N1}x |");
        }

        return Task.FromResult(0);
    }

    // Several journals (or states) of `history` records each; events go round-robin, so each grows by a small fraction
    // of its history during the measurement (histories stay near `history`).
    private static (double Nanoseconds, double Bytes) Measure(int history, bool quick, bool rewrite)
    {
        var journals = Math.Clamp(400_000 / history, 1, 64);
        var events = rewrite
            ? Math.Clamp(20_000_000 / (history * RecordSize), 20, quick ? 2_000 : 20_000)
            : quick ? 20_000 : 200_000;
        var machine = new GrainStateMachine();
        long index = 0;
        var session = Apply(machine, ref index, GrainStateCommand.RegisterSession()).ETag;
        long requestId = 0;
        var keys = Enumerable.Range(0, journals).Select(j => new GrainStateKey("bench", $"grain{j}", "log")).ToArray();
        var etags = new long[journals];
        var lengths = new int[journals];
        var record = new byte[RecordSize];
        Random.Shared.NextBytes(record);

        for (var j = 0; j < journals; j++)
        {
            if (rewrite)
            {
                lengths[j] = history;
                etags[j] = Apply(machine, ref index, Write(session, ++requestId, keys[j], 0, history)).ETag;
                continue;
            }

            for (var written = 0; written < history; written += 1_000)
            {
                var batch = Enumerable.Repeat((ReadOnlyMemory<byte>)record, Math.Min(1_000, history - written)).ToArray();
                etags[j] = Apply(machine, ref index, Append(session, ++requestId, keys[j], etags[j], batch)).ETag;
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        ReadOnlyMemory<byte>[] one = [record];
        for (var e = 0; e < events; e++)
        {
            var j = e % journals;
            var command = rewrite
                ? Write(session, ++requestId, keys[j], etags[j], ++lengths[j])
                : Append(session, ++requestId, keys[j], etags[j], one);
            var answer = Apply(machine, ref index, command);
            if (answer.Status != CommandStatus.Applied)
            {
                throw new InvalidOperationException($"The benchmark's command was refused: {answer}.");
            }

            etags[j] = answer.ETag;
        }

        stopwatch.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        return (stopwatch.Elapsed.TotalNanoseconds / events, (double)allocated / events);
    }

    private static CommandAnswer Apply(GrainStateMachine machine, ref long index, byte[] command) =>
        CommandAnswer.Decode(machine.ApplyAsync(new Entry(++index, 1, EntryType.Normal, command)).GetAwaiter().GetResult().Span);

    private static byte[] Append(long session, long requestId, GrainStateKey key, long etag, ReadOnlyMemory<byte>[] records) => new GrainStateCommand
    {
        Kind = CommandKind.JournalAppend, SessionId = session, RequestId = requestId, LowestUnacknowledged = requestId, Key = key,
        ExpectedETag = etag, Records = records,
    }.Encode();

    // The whole history as one state: `length` records of RecordSize bytes (serializing it is not even counted).
    private static byte[] Write(long session, long requestId, GrainStateKey key, long etag, int length) => new GrainStateCommand
    {
        Kind = CommandKind.Write, SessionId = session, RequestId = requestId, LowestUnacknowledged = requestId, Key = key,
        ExpectedETag = etag, Data = new byte[length * RecordSize],
    }.Encode();
}
