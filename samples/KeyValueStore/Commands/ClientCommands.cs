using System.Globalization;
using KeyValueStore.Store;
using Raft.Transport.Grpc.Client;

namespace KeyValueStore.Commands;

/// <summary><c>put</c>, <c>get</c>, <c>delete</c>, <c>cas</c> and <c>status</c> against any node of the cluster.</summary>
public static class ClientCommands
{
    /// <summary>The nodes of the local cluster that the <c>cluster</c> command starts.</summary>
    public const string DefaultEndpoints = "127.0.0.1:5001,127.0.0.1:5002,127.0.0.1:5003";

    /// <summary>Creates a client from <c>--endpoints</c> and <c>--cluster-id</c>.</summary>
    /// <param name="args">The options.</param>
    /// <returns>The client.</returns>
    public static GrpcRaftClient CreateClient(Arguments args) => new(new GrpcRaftClientOptions
    {
        ClusterId = args.Get("cluster-id", "kv"),
        Endpoints = [.. args.Get("endpoints", DefaultEndpoints).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
    });

    /// <summary>Runs one of the single-operation commands.</summary>
    /// <param name="command">The command name.</param>
    /// <param name="args">Its options and words.</param>
    /// <returns>The exit code: 0 done, 1 not done (cas mismatch, key absent), 2 usage, 3 failure.</returns>
    public static async Task<int> RunAsync(string command, Arguments args)
    {
        await using var client = CreateClient(args);
        var words = args.Positional;
        switch (command)
        {
            case "put":
                Expect(words, 2, "put <key> <value>");
                await ProposeAsync(client, new KvCommand(KvOperation.Put, words[0], words[1]));
                Console.WriteLine("OK");
                return 0;
            case "delete":
                Expect(words, 1, "delete <key>");
                await ProposeAsync(client, new KvCommand(KvOperation.Delete, words[0]));
                Console.WriteLine("OK");
                return 0;
            case "cas":
                Expect(words, 3, "cas <key> <expected|-> <new>   (- expects the key to be absent)");
                var cas = await ProposeAsync(client, new KvCommand(KvOperation.Cas, words[0], words[2], words[1] == "-" ? null : words[1]));
                Console.WriteLine(cas.Ok ? "OK" : $"FAILED: the current value is {Show(cas.Value)}");
                return cas.Ok ? 0 : 1;
            case "get":
                Expect(words, 1, "get <key>");
                var read = await client.ReadAsync(new KvCommand(KvOperation.Get, words[0]).Encode());
                var value = KvResult.Decode(read.Result);
                Console.WriteLine(value.Value ?? "(not found)");
                return value.Value is null ? 1 : 0;
            case "status":
                var statuses = await client.GetStatusAsync();
                Console.WriteLine($"{"NODE",-6} {"ADDRESS",-24} {"ROLE",-12} {"TERM",6} {"LEADER",-7} {"COMMIT",8} {"APPLIED",8}");
                foreach (var s in statuses)
                {
                    Console.WriteLine(s.Reachable
                        ? string.Create(CultureInfo.InvariantCulture, $"{s.Id,-6} {s.Address,-24} {s.Role,-12} {s.Term,6} {s.LeaderId ?? "-",-7} {s.CommitIndex,8} {s.AppliedIndex,8}")
                        : $"{s.Id,-6} {s.Address,-24} unreachable: {s.Error}");
                }

                return 0;
            default:
                throw new UsageException($"Unknown command '{command}'.");
        }
    }

    private static async Task<KvResult> ProposeAsync(GrpcRaftClient client, KvCommand command)
    {
        var result = await client.ProposeAsync(command.Encode());
        return KvResult.Decode(result.Result);
    }

    private static void Expect(IReadOnlyList<string> words, int count, string usage)
    {
        if (words.Count != count)
        {
            throw new UsageException($"Usage: {usage}");
        }
    }

    private static string Show(string? value) => value is null ? "(absent)" : $"'{value}'";
}
