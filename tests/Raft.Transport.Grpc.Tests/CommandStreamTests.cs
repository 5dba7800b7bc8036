using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Raft.Transport.Grpc.Client;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Tests;

// The client's side of the streamed call's contract: a node that ends the call normally answered every command it
// read, so whatever is left unanswered was never started and may be retried anywhere.
public sealed class CommandStreamTests
{
    // Found in CI: the node ended the call while the client was writing, and the writer, seeing the finished call
    // before the reader reached its end, reported the commands as "may or may not have been applied".
    [Fact]
    public async Task ANodeEndingTheCallNormally_WhileCommandsAreBeingWritten_LeavesEveryUnansweredCommandNotSent()
    {
        await using var node = await EndingNode.StartAsync();
        using var channel = GrpcChannel.ForAddress(node.Address);

        for (var round = 0; round < 40; round++)
        {
            var stream = new CommandStream(channel, [], 4 * 1024 * 1024);
            var endCall = await node.Calls.ReadAsync();
            var sends = new List<Task>();

            // A steady flow of commands, so that the writer is busy when the call ends.
            for (var i = 0; !stream.IsBroken && i < 1_000_000; i++)
            {
                sends.Add(stream.SendAsync(ByteString.CopyFromUtf8($"command {i}"), read: false, TimeSpan.FromSeconds(30), CancellationToken.None));
                if (i == 50)
                {
                    endCall.TrySetResult();
                }

                await Task.Yield();
            }

            Assert.True(stream.IsBroken, "The client never noticed that the call ended.");
            foreach (var send in sends)
            {
                var refused = await Record.ExceptionAsync(() => send);
                Assert.True(refused is CommandNotSentException, $"Round {round}, {sends.Count} commands: {refused}");
            }

            stream.Close();
        }
    }

    // A node whose streamed call reads nothing and ends normally when the test says so.
    private sealed class EndingNode : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private EndingNode(WebApplication app, ChannelReader<TaskCompletionSource> calls, string address)
        {
            _app = app;
            Calls = calls;
            Address = address;
        }

        // One completion source per accepted call: completing it ends that call with OK.
        public ChannelReader<TaskCompletionSource> Calls { get; }

        public string Address { get; }

        public static async Task<EndingNode> StartAsync()
        {
            var calls = Channel.CreateUnbounded<TaskCompletionSource>();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(calls.Writer);
            var app = builder.Build();
            app.MapGrpcService<EndingService>();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new EndingNode(app, calls.Reader, address);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private sealed class EndingService(ChannelWriter<TaskCompletionSource> calls) : Proto.RaftClient.RaftClientBase
    {
        public override async Task Stream(
            IAsyncStreamReader<Proto.StreamedCommandBatch> requestStream,
            IServerStreamWriter<Proto.StreamedReplyBatch> responseStream,
            ServerCallContext context)
        {
            await context.WriteResponseHeadersAsync([]);
            var end = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await calls.WriteAsync(end);
            await end.Task;
        }
    }
}
