using KeyValueStore.Commands;
using Raft.Transport.Grpc.Client;

// A key-value database replicated by Raft. See README.md; `dotnet run --project samples/KeyValueStore -- help`.
const string Usage = """
    usage: KeyValueStore <command> [options]

    Nodes:
      serve   --id n1 --listen 127.0.0.1:5001 --peers n2=127.0.0.1:5002,n3=127.0.0.1:5003 --data ./data/n1
              [--cluster-id kv] [--tick-ms 20] [--log-level Information]
      cluster [--base-port 5001] [--data ./data]      three local nodes as three processes (Ctrl+C stops them)

    Clients (any node; a follower forwards writes to the leader):
      put <key> <value>
      get <key>                                        linearizable read (read index on the node asked)
      delete <key>
      cas <key> <expected|-> <new>                     compare-and-set; - expects the key to be absent
      status                                           every node's role, term, commit and applied index
      load [--concurrency 64] [--seconds 10] [--value-size 64] [--keys 10000]
      client options: [--endpoints 127.0.0.1:5001,127.0.0.1:5002,127.0.0.1:5003] [--cluster-id kv]
    """;

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

try
{
    var options = new Arguments(args.Skip(1));
    return args[0] switch
    {
        "serve" => await ServeCommand.RunAsync(options),
        "cluster" => await ClusterCommand.RunAsync(options),
        "load" => await LoadCommand.RunAsync(options),
        _ => await ClientCommands.RunAsync(args[0], options),
    };
}
catch (UsageException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(Usage);
    return 2;
}
catch (RaftClientException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 3;
}
