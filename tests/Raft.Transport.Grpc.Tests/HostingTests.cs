using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Raft.Core.Transport;
using Raft.Testing.Conformance;
using Raft.Transport.Grpc.Hosting;
using Raft.Transport.Grpc.Tests.Infrastructure;

namespace Raft.Transport.Grpc.Tests;

// The transport hosted inside an existing ASP.NET Core application, as a silo will host it.
public sealed class HostingTests
{
    [Fact]
    public async Task AddRaftGrpcTransport_InAnAspNetCoreApp_ReceivesFromAPeer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddRaftGrpcTransport(o =>
        {
            o.ClusterId = "test";
            o.NodeId = "b";
        });
        await using var app = builder.Build();
        app.MapRaftGrpcServices();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var hosted = app.Services.GetRequiredService<GrpcRaftTransport>();
        Assert.Same(hosted, app.Services.GetRequiredService<IRaftTransport>());
        using var handler = new RecordingMessageHandler();
        hosted.Start(handler);

        await using var a = await TestNode.StartAsync(TestNode.Options("a"));
        using var handlerA = new RecordingMessageHandler();
        a.Start(handlerA);
        a.Transport.SetPeer("b", address);
        hosted.SetPeer("a", a.Address.ToString());

        a.Send(Messages.Heartbeat("a", "b", 1));
        hosted.Send(Messages.Heartbeat("b", "a", 2));

        await handler.WaitForMessagesAsync(1);
        await handlerA.WaitForMessagesAsync(1);
        await hosted.DisposeAsync();
        await app.StopAsync();
    }

    [Fact]
    public void MapRaftGrpcServices_WithoutTheTransport_SaysWhatIsMissing()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddGrpc();
        var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapRaftGrpcServices());

        Assert.Contains("AddRaftGrpcTransport", error.Message, StringComparison.Ordinal);
    }
}
