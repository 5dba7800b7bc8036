using Microsoft.Extensions.Logging;
using Raft.Core.Messages;
using Raft.Core.Transport;
using Raft.Transport.Grpc.Hosting;

namespace Raft.Transport.Grpc.Tests.Infrastructure;

// One node's transport and the standalone server that receives for it, disposed together (transport first, so its
// streams end cleanly, then the server).
public sealed class TestNode : IRaftTransport
{
    private TestNode(GrpcRaftTransport transport, GrpcRaftServer server)
    {
        Transport = transport;
        Server = server;
    }

    public GrpcRaftTransport Transport { get; }

    public GrpcRaftServer Server { get; private set; }

    public string Id => Transport.NodeId;

    public Uri Address => Server.Address!;

    public static async Task<TestNode> StartAsync(GrpcTransportOptions options, ILoggerFactory? transportLog = null)
    {
        var transport = new GrpcRaftTransport(options, transportLog ?? TestLogging.Factory);
        var server = new GrpcRaftServer(transport, loggerFactory: TestLogging.Factory);
        await server.StartAsync();
        return new TestNode(transport, server);
    }

    public static GrpcTransportOptions Options(string id, string clusterId = "test", int port = 0) => new()
    {
        ClusterId = clusterId,
        NodeId = id,
        ListenAddress = $"127.0.0.1:{port}",
        ReconnectBackoffMin = TimeSpan.FromMilliseconds(20),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
    };

    // Starts one node per id on free ports, then introduces every node to every other.
    public static async Task<IReadOnlyList<TestNode>> StartConnectedAsync(IReadOnlyList<string> ids, Action<GrpcTransportOptions>? configure = null)
    {
        var nodes = new List<TestNode>();
        foreach (var id in ids)
        {
            var options = Options(id);
            configure?.Invoke(options);
            nodes.Add(await StartAsync(options));
        }

        Connect(nodes);
        return nodes;
    }

    public static void Connect(IReadOnlyList<TestNode> nodes)
    {
        foreach (var a in nodes)
        {
            foreach (var b in nodes.Where(b => b != a))
            {
                a.Transport.SetPeer(b.Id, b.Address.ToString());
            }
        }
    }

    // Stops only the server (the node's process keeps its transport), as a crash of the listening side would.
    public Task StopServerAsync() => Server.StopAsync();

    // A new server for the same transport on the same port.
    public async Task RestartServerAsync()
    {
        var port = Address.Port;
        await Server.StopAsync();
        Transport.Options.ListenAddress = $"127.0.0.1:{port}";
        Server = new GrpcRaftServer(Transport, loggerFactory: TestLogging.Factory);
        await Server.StartAsync();
    }

    public void Start(IRaftMessageHandler handler) => Transport.Start(handler);

    public void Send(Message message) => Transport.Send(message);

    public Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) =>
        Transport.SendSnapshotAsync(message, data, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        await Server.StopAsync();
    }
}
