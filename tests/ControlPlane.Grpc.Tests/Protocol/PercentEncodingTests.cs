using ControlPlane.Grpc.Protocol;

namespace ControlPlane.Grpc.Tests.Protocol;

public sealed class PercentEncodingTests
{
    [Fact]
    public void PrintableAscii_IsUnchanged() => Assert.Equal("test status message", PercentEncoding.Encode("test status message"));

    [Fact]
    public void Encodes_PercentControlAndNonAscii_AsUtf8Escapes()
    {
        Assert.Equal("100%25 %0A %C3%A9 %F0%9F%98%88", PercentEncoding.Encode("100% \n é 😈"));
    }

    [Theory]
    [InlineData("\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n")]
    [InlineData("%%%")]
    [InlineData("")]
    [InlineData("日本語のエラー")]
    public void RoundTrips(string message) => Assert.Equal(message, PercentEncoding.Decode(PercentEncoding.Encode(message)));

    [Theory]
    [InlineData("%", "%")]
    [InlineData("%4", "%4")]
    [InlineData("%zz ok", "%zz ok")]
    [InlineData("a%41b", "aAb")]
    public void Decode_IsLenient_WithMalformedEscapes(string wire, string expected) => Assert.Equal(expected, PercentEncoding.Decode(wire));
}
