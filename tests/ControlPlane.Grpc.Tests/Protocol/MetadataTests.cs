using ControlPlane.Grpc.Protocol;

namespace ControlPlane.Grpc.Tests.Protocol;

public sealed class MetadataTests
{
    [Fact]
    public void Keys_AreLowerCased() => Assert.Equal("x-trace", new Metadata.Entry("X-Trace", "1").Key);

    [Theory]
    [InlineData("bad key")]
    [InlineData("ümlaut")]
    [InlineData("grpc-status")]
    [InlineData("")]
    public void InvalidOrReservedKeys_AreRefused(string key) => Assert.ThrowsAny<ArgumentException>(() => new Metadata.Entry(key, "v"));

    [Fact]
    public void AsciiValues_MustBePrintable() => Assert.Throws<ArgumentException>(() => new Metadata.Entry("k", "line\nbreak"));

    [Fact]
    public void BinaryKeys_NeedBytes_AndBytesNeedBinaryKeys()
    {
        Assert.Throws<ArgumentException>(() => new Metadata.Entry("k-bin", "text"));
        Assert.Throws<ArgumentException>(() => new Metadata.Entry("k", [1, 2]));
    }

    [Fact]
    public void BinaryValues_GoOnTheWireAsUnpaddedBase64_AndDecodeEitherWay()
    {
        var entry = new Metadata.Entry("trace-bin", [0xAB, 0xAB, 0xAB, 0x01]);
        var wire = MetadataEncoding.WireValue(entry);
        Assert.Equal("q6urAQ", wire);
        Assert.Equal(entry.ValueBytes, MetadataEncoding.DecodeBase64(wire));
        Assert.Equal(entry.ValueBytes, MetadataEncoding.DecodeBase64("q6urAQ=="));
    }

    [Fact]
    public void Received_ProtocolHeadersAreNotMetadata_AndJoinedBinaryValuesSplit()
    {
        var md = new Metadata();
        MetadataEncoding.AddReceived(md, "grpc-timeout", "1S");
        MetadataEncoding.AddReceived(md, "content-type", "application/grpc");
        MetadataEncoding.AddReceived(md, "te", "trailers");
        MetadataEncoding.AddReceived(md, "x-bin", "AQ,Ag==");
        MetadataEncoding.AddReceived(md, "x-bad-bin", "!!!");
        MetadataEncoding.AddReceived(md, "x-user", "alice");
        Assert.Equal(["x-bin", "x-bin", "x-user"], md.Select(e => e.Key));
        Assert.Equal([[1], [2]], md.GetAll("x-bin").Select(e => e.ValueBytes));
    }

    [Fact]
    public void Get_ReturnsLastValue_CaseInsensitively()
    {
        var md = new Metadata().Add("k", "1").Add("k", "2");
        Assert.Equal("2", md.GetValue("K"));
        Assert.Null(md.GetValue("missing"));
    }
}
