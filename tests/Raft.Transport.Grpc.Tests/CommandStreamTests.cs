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
        await using var node = await FakeNode<EndingService>.StartAsync();
        using var channel = GrpcChannel.ForAddress(node.Address);

        for (var round = 0; round < 40; round++)
        {
            var stream = new CommandStream(channel, [], 4 * 1024 * 1024);
            var endCall = (await node.Calls.ReadAsync()).Proceed;
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

    // A node that stops while commands are in flight says goodbye: it answered what it read, the rest never started,
    // and the client closes its side so that the node can end the call before its connection goes.
    [Fact]
    public async Task ANodesGoodbye_LeavesEveryUnansweredCommandNotSent_AndTheClientClosesItsSide()
    {
        await using var node = await FakeNode<GoodbyeService>.StartAsync();
        using var channel = GrpcChannel.ForAddress(node.Address);
        var stream = new CommandStream(channel, [], 4 * 1024 * 1024);
        var call = await node.Calls.ReadAsync();

        var answered = stream.SendAsync(ByteString.CopyFromUtf8("answered"), read: false, TimeSpan.FromSeconds(30), CancellationToken.None);
        await answered;
        var unanswered = Enumerable.Range(0, 3)
            .Select(i => stream.SendAsync(ByteString.CopyFromUtf8($"unanswered {i}"), read: false, TimeSpan.FromSeconds(30), CancellationToken.None))
            .ToList();
        call.Proceed.TrySetResult();

        foreach (var send in unanswered)
        {
            await Assert.ThrowsAsync<CommandNotSentException>(() => send);
        }

        Assert.True(stream.IsBroken);
        await call.Ended.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    // One accepted call: the test lets the service proceed, the service says when the call ended.
    private sealed record FakeCall(TaskCompletionSource Proceed, TaskCompletionSource Ended);

    // A node whose streamed call is driven by the service TService; each accepted call is handed to the test.
    private sealed class FakeNode<TService> : IAsyncDisposable
        where TService : Proto.RaftClient.RaftClientBase
    {
        private readonly WebApplication _app;

        private FakeNode(WebApplication app, ChannelReader<FakeCall> calls, string address)
        {
            _app = app;
            Calls = calls;
            Address = address;
        }

        public ChannelReader<FakeCall> Calls { get; }

        public string Address { get; }

        public static async Task<FakeNode<TService>> StartAsync()
        {
            var calls = Channel.CreateUnbounded<FakeCall>();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(calls.Writer);
            var app = builder.Build();
            app.MapGrpcService<TService>();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new FakeNode<TService>(app, calls.Reader, address);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    // Accepts a call, hands it to the test, plays its part, and says when the call ended.
    private abstract class FakeService(ChannelWriter<FakeCall> calls) : Proto.RaftClient.RaftClientBase
    {
        public sealed override async Task Stream(
            IAsyncStreamReader<Proto.StreamedCommandBatch> requestStream,
            IServerStreamWriter<Proto.StreamedReplyBatch> responseStream,
            ServerCallContext context)
        {
            await context.WriteResponseHeadersAsync([]);
            var call = new FakeCall(new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously));
            await calls.WriteAsync(call);
            await PlayAsync(requestStream, responseStream, call.Proceed.Task);
            call.Ended.TrySetResult();
        }

        protected abstract Task PlayAsync(
            IAsyncStreamReader<Proto.StreamedCommandBatch> requestStream, IServerStreamWriter<Proto.StreamedReplyBatch> responseStream, Task proceed);
    }

    // Reads nothing; once the test lets it proceed, ends the call with OK.
    private sealed class EndingService(ChannelWriter<FakeCall> calls) : FakeService(calls)
    {
        protected override Task PlayAsync(
            IAsyncStreamReader<Proto.StreamedCommandBatch> requestStream, IServerStreamWriter<Proto.StreamedReplyBatch> responseStream, Task proceed) => proceed;
    }

    // Answers the first command; once the test lets it proceed, answers nothing more, says goodbye, and ends the call
    // when the client has closed its side.
    private sealed class GoodbyeService(ChannelWriter<FakeCall> calls) : FakeService(calls)
    {
        protected override async Task PlayAsync(
            IAsyncStreamReader<Proto.StreamedCommandBatch> requestStream, IServerStreamWriter<Proto.StreamedReplyBatch> responseStream, Task proceed)
        {
            Assert.True(await requestStream.MoveNext());
            var first = requestStream.Current.Commands[0];
            await responseStream.WriteAsync(new Proto.StreamedReplyBatch
            {
                Replies = { new Proto.StreamedReply { Id = first.Id, Reply = new Proto.CommandReply { Outcome = Proto.Outcome.Applied, Index = 1 } } },
            });

            await proceed;
            await responseStream.WriteAsync(new Proto.StreamedReplyBatch { Stopping = true });
            while (await requestStream.MoveNext())
            {
            }
        }
    }
}
