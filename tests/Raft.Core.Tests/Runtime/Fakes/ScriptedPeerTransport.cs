using System.Collections.Concurrent;
using Raft.Core.Messages;
using Raft.Core.Transport;

namespace Raft.Core.Tests.Runtime.Fakes;

// A transport to peers the test plays: it records what the node sends, delivers what the test says the peers sent,
// and can hold the node's loop inside its next send.
public sealed class ScriptedPeerTransport : IRaftTransport
{
    private readonly ConcurrentQueue<Message> _sent = new();
    private IRaftMessageHandler? _handler;
    private SendHold? _hold;

    public IReadOnlyCollection<Message> Sent => _sent;

    public int CountSent(MessageType type, string to) => _sent.Count(m => m.Type == type && m.To == to);

    public Message? LastSent(MessageType type, string to) => _sent.LastOrDefault(m => m.Type == type && m.To == to);

    public void Start(IRaftMessageHandler handler) => _handler = handler;

    public void Send(Message message)
    {
        // The caller is the node's consensus loop: holding it here holds the loop.
        Interlocked.Exchange(ref _hold, null)?.Block();
        _sent.Enqueue(message);
    }

    public Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("ScriptedPeerTransport plays one-way messages only.");

    /// <summary>A message from one of the scripted peers arrives at the node.</summary>
    public void Deliver(Message message) => (_handler ?? throw new InvalidOperationException("The transport is not started.")).Receive(message);

    /// <summary>The next send blocks the sending thread until the returned hold is released.</summary>
    public SendHold HoldNextSend() => _hold = new SendHold();

    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _hold, null)?.Release();
        return ValueTask.CompletedTask;
    }

    public sealed class SendHold
    {
        private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _released = new();

        /// <summary>Completes once a send is blocked.</summary>
        public Task Blocked => _blocked.Task;

        public void Release() => _released.Set();

        internal void Block()
        {
            _blocked.TrySetResult();
            _released.Wait(TimeSpan.FromSeconds(30));
        }
    }
}
