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
// cancellation; and only members of the group are served (over TLS, only those whose certificates prove it).
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
        var changes = new CountedChanges("n1");
        await using var leader = await Leader.StartAsync(changes.Make);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => leader.Client("intruder").ChangeMembershipAsync(Remove, CancellationToken.None));
        Assert.Contains("PermissionDenied", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, changes.Count);
    }

    [Fact]
    public async Task ANodeThatTakesNoChanges_SaysSo()
    {
        await using var leader = await Leader.StartAsync(changes: null);
        await Assert.ThrowsAsync<NotSupportedException>(() => leader.Client("n2").ChangeMembershipAsync(Remove, CancellationToken.None));
    }

    // What a call that ends with a gRPC status is reported as, whichever channel carried it: a refusal is not an
    // unknown outcome, and an unreachable leader calls for a retry.
    [Theory]
    [InlineData(StatusCode.Unavailable, typeof(NotLeaderException))]
    [InlineData(StatusCode.Unimplemented, typeof(NotSupportedException))]
    [InlineData(StatusCode.PermissionDenied, typeof(InvalidOperationException))]
    [InlineData(StatusCode.Unauthenticated, typeof(InvalidOperationException))]
    [InlineData(StatusCode.InvalidArgument, typeof(InvalidOperationException))]
    [InlineData(StatusCode.Internal, typeof(IOException))]
    [InlineData(StatusCode.DeadlineExceeded, typeof(IOException))]
    public async Task ACallEndedWithAStatus_IsReportedAsItsKind(StatusCode status, Type thrown)
    {
        var failed = new AsyncUnaryCall<byte[]>(
            Task.FromException<byte[]>(new RpcException(new Status(status, "test"))), Task.FromResult(new Grpc.Core.Metadata()),
            () => new Status(status, "test"), () => new Grpc.Core.Metadata(), () => { });
        var exception = await Assert.ThrowsAnyAsync<Exception>(() => MembershipCall.SendAsync(_ => failed, "n2", "n1", CancellationToken.None));
        Assert.IsType(thrown, exception);
    }

    // An address the group records for the leader takes effect at once: the next forwarded call goes there, not to a
    // client made for the old address.
    [Fact]
    public async Task AfterTheLeadersAddressChanges_ForwardedCallsGoToTheNewOne()
    {
        await using var leader = await Leader.StartAsync((_, _) => Task.FromResult(new ClusterConfiguration(["n1", "n2"])));

        // The provider's address book, as the network reads it: the leader at an address where nothing listens.
        var members = new System.Collections.Concurrent.ConcurrentDictionary<string, string> { ["n1"] = "127.0.0.1:1", ["n2"] = "127.0.0.1:1" };
        await using var member = await leader.ConnectMemberAsync(_ => { }, members);
        await Assert.ThrowsAsync<NotLeaderException>(() => member.ForwardMembershipChangeAsync("n1", Remove));

        // What the provider does when the group records the leader's address.
        members["n1"] = $"127.0.0.1:{leader.Port}";
        member.SetPeerAddress("n1", members["n1"]);
        Assert.Equal(["n1", "n2"], (await member.ForwardMembershipChangeAsync("n1", Remove)).Voters);
    }

    // Over TLS a change travels on the transport's own channel, and the leader's silo serves a caller only as the
    // transport serves its peers: with a certificate that carries the name of the node it claims to be.
    [Fact]
    public async Task OverTls_AMemberWhoseCertificateCarriesItsName_IsServed_AndNoOtherCaller()
    {
        using var ca = TestCertificates.CreateCa("forwarding-tests-ca");
        using var leaderCertificate = TestCertificates.CreateNode(ca, "n1");
        using var memberCertificate = TestCertificates.CreateNode(ca, "n2");
        using var toolCertificate = TestCertificates.CreateNode(ca, "tool");
        var changes = new CountedChanges("n1", "n2");
        await using var leader = await Leader.StartAsync(changes.Make, o => o.Tls = new GrpcTlsOptions { Certificate = leaderCertificate, CaCertificate = ca });

        await using (var member = await leader.ConnectMemberAsync(o => o.Tls = new GrpcTlsOptions { Certificate = memberCertificate, CaCertificate = ca }))
        {
            var done = await member.ForwardMembershipChangeAsync("n1", Remove);
            Assert.Equal(["n1", "n2"], done.Voters);
            Assert.Equal(1, changes.Count);
        }

        // The CA's other certificates pass the handshake, but do not speak for n2.
        var refused = await Assert.ThrowsAsync<RpcException>(() => CallOverTls(leader.Port, toolCertificate, sender: "n2"));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("does not carry the name 'n2'", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, changes.Count);

        // The write stream is not served over TLS at all, even to n2 (silos send their writes to the transport's client service).
        var writes = await Assert.ThrowsAsync<RpcException>(() => OpenWriteStreamOverTls(leader.Port, memberCertificate, sender: "n2"));
        Assert.Equal(StatusCode.PermissionDenied, writes.StatusCode);
    }

    private static async Task OpenWriteStreamOverTls(int port, X509Certificate2 certificate, string sender)
    {
        using var channel = TlsChannel(port, certificate);
        var headers = new Grpc.Core.Metadata { { CallHeaders.ClusterId, Leader.Group }, { CallHeaders.SenderId, sender } };
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(ForwardingProtocol.Forward, null, new CallOptions(headers));
        await call.ResponseStream.MoveNext(CancellationToken.None);
    }

    private static GrpcChannel TlsChannel(int port, X509Certificate2 certificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = new X509CertificateCollection { certificate };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        return GrpcChannel.ForAddress(new Uri($"https://127.0.0.1:{port}"), new GrpcChannelOptions { HttpHandler = handler });
    }

    // Without the binding, a certificate proves nothing about node ids: nothing is forwarded, and nobody is served.
    [Fact]
    public async Task OverTlsWithoutCertificateBinding_NothingIsForwarded_AndTheServiceServesNobody()
    {
        using var ca = TestCertificates.CreateCa("forwarding-tests-ca");
        using var leaderCertificate = TestCertificates.CreateNode(ca, "n1");
        using var memberCertificate = TestCertificates.CreateNode(ca, "n2");
        var changes = new CountedChanges("n1");
        await using var leader = await Leader.StartAsync(
            changes.Make, o => o.Tls = new GrpcTlsOptions { Certificate = leaderCertificate, CaCertificate = ca, BindCertificateToNodeId = false });

        await using (var member = await leader.ConnectMemberAsync(
            o => o.Tls = new GrpcTlsOptions { Certificate = memberCertificate, CaCertificate = ca, BindCertificateToNodeId = false }))
        {
            var unsupported = await Assert.ThrowsAsync<NotSupportedException>(() => member.ForwardMembershipChangeAsync("n1", Remove));
            Assert.Contains("BindCertificateToNodeId", unsupported.Message, StringComparison.Ordinal);
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => CallOverTls(leader.Port, memberCertificate, sender: "n2"));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal(0, changes.Count);
    }

    // A forwarded change sent by hand over TLS with the transport's headers, as a node's would be, under `certificate`.
    private static async Task<byte[]> CallOverTls(int port, X509Certificate2 certificate, string sender)
    {
        using var channel = TlsChannel(port, certificate);
        var headers = new Grpc.Core.Metadata { { CallHeaders.ClusterId, Leader.Group }, { CallHeaders.SenderId, sender } };
        return await channel.CreateCallInvoker()
            .AsyncUnaryCall(ForwardingProtocol.ChangeMembership, null, new CallOptions(headers), MembershipFrames.EncodeRequest(Remove)).ResponseAsync;
    }

    // A leader's handler that makes every change it is asked for (answering with `voters`) and counts them.
    private sealed class CountedChanges(params string[] voters)
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Task<ClusterConfiguration> Make(RaftMembershipRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return Task.FromResult(new ClusterConfiguration(voters));
        }
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

        // Node n2's connection (not started: it only sends), with the given transport options and address book (by
        // default n1 at its port).
        public async Task<IRaftStorageConnection> ConnectMemberAsync(
            Action<global::Raft.Transport.Grpc.GrpcTransportOptions> configure, IReadOnlyDictionary<string, string>? members = null)
        {
            members ??= new Dictionary<string, string> { ["n1"] = $"127.0.0.1:{Port}", ["n2"] = "127.0.0.1:1" };
            return await new GrpcRaftStorageNetwork { ConfigureTransport = configure }.ConnectAsync(new RaftStorageEndpoint(Group, "n2", members, NullLoggerFactory.Instance));
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
