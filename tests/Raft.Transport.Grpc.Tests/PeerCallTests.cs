using System.Security.Cryptography.X509Certificates;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Raft.Testing.Security;
using Raft.Transport.Grpc.Hosting;
using Raft.Transport.Grpc.Security;
using Raft.Transport.Grpc.Tests.Infrastructure;

namespace Raft.Transport.Grpc.Tests;

// An application's own calls between the nodes (Orleans.Raft's forwarded membership changes): sent with CallPeer on the
// peer's channel, checked on arrival with AuthorizePeerCall as the transport checks its peers' calls, the binding of
// certificates to node ids included.
public sealed class PeerCallTests
{
    private static readonly X509Certificate2 Ca = TestCertificates.CreateCa("peer-call-ca");

    [Fact]
    public async Task APeersCall_ReachesTheApplicationsService_NamingItsSender()
    {
        await using var host = await EchoHost.StartAsync(tls: true);
        await using var a = await TestNode.StartAsync(Options("a", "a", host.Address));

        Assert.True(a.Transport.ProvesCallerIds);
        Assert.Equal("a", Encoding.UTF8.GetString(await a.Transport.CallPeer("b", EchoHost.WhoAmI, [1])));
    }

    [Fact]
    public async Task ACertificateThatDoesNotSpeakForTheClaimedNode_IsRefused()
    {
        await using var host = await EchoHost.StartAsync(tls: true);
        await using var impostor = await TestNode.StartAsync(Options("a", "x", host.Address));

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await impostor.Transport.CallPeer("b", EchoHost.WhoAmI, [1]));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("does not carry the name 'a'", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutTls_OrWithoutTheBinding_CallerIdsAreNotProven()
    {
        await using var plain = await TestNode.StartAsync(TestNode.Options("a"));
        var unbound = Options("c", "c", "127.0.0.1:1");
        unbound.Tls!.BindCertificateToNodeId = false;
        await using var withoutBinding = await TestNode.StartAsync(unbound);

        Assert.False(plain.Transport.ProvesCallerIds);
        Assert.False(withoutBinding.Transport.ProvesCallerIds);
        Assert.Throws<ArgumentException>(() => plain.Transport.CallPeer("nobody", EchoHost.WhoAmI, [1]));
    }

    // Node `id` with a certificate named `certificateName`, whose peer b is at `peerAddress`.
    private static GrpcTransportOptions Options(string id, string certificateName, string peerAddress)
    {
        var options = TestNode.Options(id);
        options.Tls = new GrpcTlsOptions { Certificate = TestCertificates.CreateNode(Ca, certificateName), CaCertificate = Ca };
        options.Peers["b"] = peerAddress;
        return options;
    }

    // Node b in an ASP.NET Core app that also serves the application's own method, which answers with the caller's id.
    private sealed class EchoHost : IAsyncDisposable
    {
        public static readonly Method<byte[], byte[]> WhoAmI = new(
            MethodType.Unary, "peercalltests.Echo", "WhoAmI", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

        private readonly WebApplication _app;

        private EchoHost(WebApplication app, string address)
        {
            _app = app;
            Address = address;
        }

        public string Address { get; }

        public static async Task<EchoHost> StartAsync(bool tls)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            var tlsOptions = tls ? new GrpcTlsOptions { Certificate = TestCertificates.CreateNode(Ca, "b"), CaCertificate = Ca } : null;
            builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                if (tlsOptions is not null)
                {
                    o.UseRaftTls(tlsOptions);
                }
            }));
            builder.Services.AddRaftGrpcTransport(o =>
            {
                o.ClusterId = "test";
                o.NodeId = "b";
                o.Tls = tlsOptions;
                o.Peers["a"] = "127.0.0.1:1";
            });
            builder.Services.AddGrpc();
            var app = builder.Build();
            app.MapRaftGrpcServices();
            app.MapGrpcService<EchoService>();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new EchoHost(app, address);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.Services.GetRequiredService<GrpcRaftTransport>().DisposeAsync();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    // The shape grpc-dotnet binds without protoc: a base type that declares the method, and BindService taking it.
    [BindServiceMethod(typeof(EchoServiceBase), nameof(BindService))]
    public abstract class EchoServiceBase
    {
        public static void BindService(ServiceBinderBase binder, EchoServiceBase? service) =>
            binder.AddMethod(EchoHost.WhoAmI, service is null ? null : service.WhoAmI);

        public abstract Task<byte[]> WhoAmI(byte[] request, ServerCallContext context);
    }

    private sealed class EchoService(GrpcRaftTransport transport) : EchoServiceBase
    {
        public override Task<byte[]> WhoAmI(byte[] request, ServerCallContext context) =>
            Task.FromResult(Encoding.UTF8.GetBytes(transport.AuthorizePeerCall(context, nameof(WhoAmI))));
    }
}
