using System.Diagnostics;
using Raft.Transport.Grpc.Client;

namespace Benchmarks.Grpc;

/// <summary>The two fixed costs of a commit, measured on this machine in the same run: one fdatasync and one loopback gRPC round trip.</summary>
internal static class Baselines
{
    /// <summary>p50 (µs) of one 64-byte pwrite + fdatasync into a preallocated, zero-filled file in <paramref name="directory"/> (the nodes' disk).</summary>
    public static double FdatasyncP50(string directory, int samples = 400)
    {
        const int fileSize = 4 << 20;
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"fdatasync-{Guid.NewGuid():N}");
        try
        {
            using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite);
            RandomAccess.Write(handle, new byte[fileSize], 0);
            RawSync.FlushData(handle);
            var record = new byte[64];
            var latencies = new double[samples];
            for (var i = -20; i < samples; i++)
            {
                var started = Stopwatch.GetTimestamp();
                RandomAccess.Write(handle, record, ((i + 20) * 64L) % fileSize);
                RawSync.FlushData(handle);
                if (i >= 0)
                {
                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
                }
            }

            return Median(latencies);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>p50 (µs) of a trivial unary call (a node's own status, no peers asked) over an open loopback HTTP/2 connection.</summary>
    public static async Task<double> GrpcRoundTripP50(GrpcRaftClient client, int samples = 2000)
    {
        var latencies = new double[samples];
        for (var i = -200; i < samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await client.GetStatusAsync(includePeers: false);
            if (i >= 0)
            {
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
        }

        return Median(latencies);
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        return values[values.Length / 2];
    }
}
