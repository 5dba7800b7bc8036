using System.Text;
using Orleans.Raft.StateMachine;

namespace Orleans.Raft.Tests;

// The state machine's cache of grain types and state names: the same strings as plain decoding, shared when repeated.
public sealed class Utf8NameCacheTests
{
    [Theory]
    [InlineData(new byte[] { 0x63, 0x6F, 0x75, 0x6E, 0x74, 0x65, 0x72 })]      // "counter"
    [InlineData(new byte[] { 0xD0, 0xBA, 0xD0, 0xBB, 0xD1, 0x8E, 0xD1, 0x87 })] // "ключ"
    [InlineData(new byte[] { 0x61, 0xFF, 0xC3 })]                              // invalid UTF-8: replaced as GetString does
    [InlineData(new byte[0])]
    public void Get_DecodesAsGetStringAndSharesRepeatedNames(byte[] utf8)
    {
        var cache = new Utf8NameCache();
        var first = cache.Get(utf8);
        var second = cache.Get(utf8);

        Assert.Equal(Encoding.UTF8.GetString(utf8), first);
        Assert.Same(first, second);
    }

    [Fact]
    public void Get_OfALongName_DecodesWithoutKeepingIt()
    {
        var cache = new Utf8NameCache();
        var name = new string('n', 300);

        Assert.Equal(name, cache.Get(Encoding.UTF8.GetBytes(name)));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Decode_WithTheCache_ReadsTheSameCommand()
    {
        var bytes = new GrainStateCommand
        {
            Kind = CommandKind.Write, SessionId = 5, RequestId = 7, LowestUnacknowledged = 6, Key = new("t", "ключ", "s"),
            ExpectedETag = 42, Data = new byte[] { 1, 2, 3 },
        }.Encode();
        var cache = new Utf8NameCache();

        var plain = GrainStateCommand.Decode(bytes);
        var first = GrainStateCommand.Decode(bytes, cache);
        var second = GrainStateCommand.Decode(bytes, cache);

        Assert.Equal(plain.Key, first.Key);
        Assert.Same(first.Key.GrainType, second.Key.GrainType);
        Assert.Same(first.Key.StateName, second.Key.StateName);
        Assert.Equal(plain.Data.ToArray(), second.Data.ToArray());
    }
}
