using System.Globalization;
using KeyValueStore.Store;

namespace Benchmarks;

/// <summary>
/// The key-value puts the gRPC benchmark's client and the DotNext baseline's writers send (the DotNext node links this
/// file): 64 pre-encoded puts of distinct keys per writer, each exactly the payload size, so that both measure
/// replication rather than encoding, and both apply the same commands.
/// </summary>
internal static class BenchmarkPuts
{
    /// <summary>Writer <c>w</c>'s puts are <c>result[w]</c>, cycled in order.</summary>
    /// <param name="concurrency">Writers.</param>
    /// <param name="payload">The size of each encoded command, in bytes.</param>
    /// <returns>The commands, by writer.</returns>
    /// <exception cref="InvalidOperationException">The payload is too small for a command's key and framing.</exception>
    public static byte[][][] ByWriter(int concurrency, int payload)
    {
        var result = new byte[concurrency][][];
        for (var worker = 0; worker < concurrency; worker++)
        {
            result[worker] = new byte[64][];
            for (var i = 0; i < 64; i++)
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"k{worker:D4}-{i:D2}");
                var overhead = new KvCommand(KvOperation.Put, key, "").Encode().Length;
                var command = new KvCommand(KvOperation.Put, key, new string('v', payload - overhead)).Encode();
                result[worker][i] = command.Length == payload ? command : throw new InvalidOperationException($"a {payload}-byte command came out at {command.Length} bytes");
            }
        }

        return result;
    }
}
