using Raft.Core.Messages;
using Raft.Core.Transport;

namespace Raft.Core.Tests.Runtime.Fakes;

// A transport that records each send as "send:<message context as text>".
public sealed class RecordingTransport(CallLog calls) : IRaftTransport
{
    public Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("RecordingTransport records one-way messages only.");

    public void Start(IRaftMessageHandler handler)
    {
    }

    public void Send(Message message) => calls.Add("send:" + System.Text.Encoding.UTF8.GetString(message.Context.Span));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
