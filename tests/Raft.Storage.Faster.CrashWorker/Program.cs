using System.Globalization;
using Raft.Core.Messages;
using Raft.Storage.Faster;
using Raft.Storage.Faster.CrashWorker;

// Runs random operations on a FasterLogStore and a FileHardStateStore in one directory until killed. Before each
// operation it prints "BEGIN <op> <args>", after the operation completed (durably) it prints "ACK"; the parent test
// kills it with SIGKILL at a random moment, reopens the stores and checks that every acknowledged operation is there.
// Usage: Raft.Storage.Faster.CrashWorker <directory> <seed>
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Raft.Storage.Faster.CrashWorker <directory> <seed>");
    return 2;
}

var directory = args[0];
var random = new Random(int.Parse(args[1], CultureInfo.InvariantCulture));
var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
await using var log = await FasterLogStore.OpenAsync(CrashOptions.Log(Path.Combine(directory, "log")));
using var hardState = FileHardStateStore.Open(Path.Combine(directory, "hardstate"));
var state = await hardState.LoadAsync();
var term = Math.Max(state.Term, log.LastIndex >= log.FirstIndex ? (await log.ReadAsync(log.LastIndex, log.LastIndex))[0].Term : 0);
stdout.WriteLine(FormattableString.Invariant($"OPEN {log.FirstIndex} {log.LastIndex} {term}"));

while (true)
{
    var roll = random.Next(100);
    if (roll < 55)
    {
        var count = random.Next(1, 21);
        var first = log.LastIndex + 1;
        stdout.WriteLine(FormattableString.Invariant($"BEGIN append {first} {count} {term}"));
        await log.AppendAsync(Payloads.Entries(first, count, term));
    }
    else if (roll < 75 && log.LastIndex >= log.FirstIndex)
    {
        // A follower replacing a conflicting suffix with entries of a newer term (§5.3).
        term++;
        var from = random.Next((int)Math.Max(log.FirstIndex, log.LastIndex - 15), (int)log.LastIndex + 2);
        var count = random.Next(1, 11);
        stdout.WriteLine(FormattableString.Invariant($"BEGIN append {from} {count} {term}"));
        await log.AppendAsync(Payloads.Entries(from, count, term));
    }
    else if (roll < 85 && log.LastIndex >= log.FirstIndex)
    {
        var through = random.NextInt64(log.FirstIndex, log.LastIndex + 1);
        stdout.WriteLine(FormattableString.Invariant($"BEGIN compact {through}"));
        await log.CompactAsync(through);
    }
    else if (roll < 88)
    {
        var snapshot = log.LastIndex + random.Next(0, 30);
        stdout.WriteLine(FormattableString.Invariant($"BEGIN reset {snapshot}"));
        await log.ResetAsync(snapshot);
    }
    else
    {
        term++;
        stdout.WriteLine(FormattableString.Invariant($"BEGIN hardstate {term}"));
        await hardState.SaveAsync(new HardState(term, "node-" + (term % 3), log.LastIndex));
    }

    stdout.WriteLine("ACK");
}
