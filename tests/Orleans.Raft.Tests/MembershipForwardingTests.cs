using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Raft.Networking;
using Orleans.Raft.StateMachine;
using Raft.Core;
using Raft.Core.Membership;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Testing.Processes;
using Raft.Testing.Security;
using Raft.Transport.Grpc.Security;

namespace Orleans.Raft.Tests;

// A membership change forwarded over gRPC to the leader's silo (one node, n1, whose handler the test plays): its
// answer, or its failure as the same kind of exception, reaches the caller; a caller that gives up gets a
// cancellation; and only members of the group, without TLS, are served.
public sealed class MembershipForwardingTests
{
    private static readonly RaftMembershipRequest Remove = new(RaftMembershipOperation.RemoveMember, "n3");

    [Fact]
    public async Task TheLeadersAnswer_ReachesTheCaller()
    {
        var configuration = new ClusterConfiguration(["n1", "n2"]);
        await using var leader = await Leader.StartAsync((request, _) => Task.FromResult(request == Remove ? configuration : new ClusterConfiguration(["x"])));
        Assert.Equal(configuration, await leader.Client("n2").ChangeMembershipAsync(Remove, CancellationToken.None));
    }

    public static TheoryData<Exception, Type> Failures => new()
    {
        { new NotLeaderException("n1", "n2"), typeof(NotLeaderException) },
        { new RaftNodeStoppedException("n1 stopped"), typeof(NotLeaderException) },
        { new RequestRejectedException("another change is pending"), typeof(RequestRejectedException) },
        { new ProposalDroppedException("just elected"), typeof(ProposalDroppedException) },
        { new ProposalSupersededException(5, 2, 3), typeof(ProposalSupersededException) },
        { new ProposalResultUnknownException("stepped down"), typeof(ProposalResultUnknownException) },
        { new TimeoutException("not confirmed"), typeof(TimeoutException) },
        { new ArgumentException("no address"), typeof(ArgumentException) },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task TheLeadersFailure_ReachesTheCallerAsItsKind(Exception failure, Type thrown)
    {
        await using var leader = await Leader.StartAsync((_, _) => Task.FromException<ClusterConfiguration>(failure));
        var exception = await Assert.ThrowsAsync(thrown, () => leader.Client("n2").ChangeMembershipAsync(Remove, CancellationToken.None));
        Assert.Contains(failure.Message, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACallerThatGivesUp_GetsACancellation()
    {
        await using var leader = await Leader.StartAsync(async (_, token) =>
        {
            await Task.Delay(Timeout.Infinite, token);
            return new ClusterConfiguration(["n1"]);
        });
        using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader.Client("n2").ChangeMembershipAsync(Remove, giveUp.Token));
    }

    [Fact]
    public async Task ALeaderThatCannotBeReached_IsReportedAsNoLeader_SoTheCallerRetries()
    {
        await using var client = new ForwardingClient("n2", "n1", new Uri($"http://127.0.0.1:{FreePorts.Next()}"), Leader.Group, 1 << 20, NullLogger.Instance);
        var unreachable = await Assert.ThrowsAsync<NotLeaderException>(() => client.ChangeMembershipAsync(Remove, CancellationToken.None));
        Assert.Contains("could not reach node 'n1'", unreachable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASenderOutsideTheGroup_IsRefused_AndNothingChanges()
    {
        var called = 0;
        await using var leader = await Leader.StartAsync((_, _) =>
        {
            Interlocked.Increment(ref called);
            return Task.FromResult(new ClusterConfiguration(["n1"]));
        });
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => leader.Client("intruder").ChangeMembershipAsync(Remove, CancellationToken.None));
        Assert.Contains("PermissionDenied", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, called);
    }

    [Fact]
    public async Task ANodeThatTakesNoChanges_SaysSo()
    {
        await using var leader = await Leader.StartAsync(changes: null);
        await Assert.ThrowsAsync<NotSupportedException>(() => leader.Client("n2").ChangeMembershipAsync(Remove, CancellationToken.None));
    }

    // The headers name the sender; over TLS only a certificate could prove it, and the forwarding service does not
    // check certificates against node ids: a caller with a valid certificate of the cluster's CA, for another name,
    // is refused.
    [Fact]
    public async Task OverTls_TheForwardingService_ServesNobody()
    {
        using var ca = TestCertificates.CreateCa("forwarding-tests-ca");
        using var serverCertificate = TestCertificates.CreateNode(ca, "n1");
        using var toolCertificate = TestCertificates.CreateNode(ca, "tool");
        var called = 0;
        await using var leader = await Leader.StartAsync(
            (_, _) =>
            {
                Interlocked.Increment(ref called);
                return Task.FromResult(new ClusterConfiguration(["n1"]));
            },
            o => o.Tls = new GrpcTlsOptions { Certificate = serverCertificate, CaCertificate = ca });
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = new X509CertificateCollection { toolCertificate };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var channel = GrpcChannel.ForAddress(new Uri($"https://127.0.0.1:{leader.Port}"), new GrpcChannelOptions { HttpHandler = handler });
        var headers = new Grpc.Core.Metadata { { ForwardingProtocol.ClusterHeader, Leader.Group }, { ForwardingProtocol.SenderHeader, "n2" } };

        var refused = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker()
            .AsyncUnaryCall(ForwardingProtocol.ChangeMembership, null, new CallOptions(headers), MembershipFrames.EncodeRequest(Remove)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal(0, called);
    }

    // One node, n1, served by the provider's gRPC network with the given handler for forwarded changes.
    private sealed class Leader : IAsyncDisposable
    {
        public const string Group = "forwarding-tests";
        private readonly IRaftStorageConnection _connection;
        private readonly RaftNode _node;
        private readonly List<ForwardingClient> _clients = [];

        private Leader(IRaftStorageConnection connection, RaftNode node, int port)
        {
            _connection = connection;
            _node = node;
            Port = port;
        }

        public int Port { get; }

        public static async Task<Leader> StartAsync(
            Func<RaftMembershipRequest, CancellationToken, Task<ClusterConfiguration>>? changes,
            Action<global::Raft.Transport.Grpc.GrpcTransportOptions>? configure = null)
        {
            var port = FreePorts.Next();
            var members = new Dictionary<string, string> { ["n1"] = $"127.0.0.1:{port}", ["n2"] = "127.0.0.1:1" };
            var connection = await new GrpcRaftStorageNetwork { ConfigureTransport = configure }.ConnectAsync(
                new RaftStorageEndpoint(Group, "n1", members, NullLoggerFactory.Instance) { MembershipChanges = changes });
            var node = new RaftNode(
                new RaftNodeOptions { Raft = new RaftOptions { Id = "n1", Voters = ["n1"] }, TickInterval = TimeSpan.FromMilliseconds(10) },
                new InMemoryLogStore(), new InMemoryHardStateStore(), connection.Transport, new GrainStateMachine());
            await connection.StartAsync(node);
            await node.StartAsync();
            return new Leader(connection, node, port);
        }

        public ForwardingClient Client(string sender)
        {
            var client = new ForwardingClient(sender, "n1", new Uri($"http://127.0.0.1:{Port}"), Group, 1 << 20, NullLogger.Instance);
            _clients.Add(client);
            return client;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var client in _clients)
            {
                await client.DisposeAsync();
            }

            await _node.StopAsync();
            await _connection.DisposeAsync();
        }
    }
}
