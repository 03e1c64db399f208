using ControlPlane.Grpc.Protocol;

namespace ControlPlane.Grpc.Tests.Protocol;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 3600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("30S", 30_000)]
    [InlineData("250m", 250)]
    [InlineData("1500u", 1.5)]
    [InlineData("2000000n", 2)]
    [InlineData("99999999m", 99_999_999)]
    public void Parses_EveryUnit(string header, double expectedMs)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(expectedMs, timeout.TotalMilliseconds, 3);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("-1S")]
    [InlineData("+1S")]
    [InlineData("1.5S")]
    [InlineData("123456789S")]
    [InlineData("10s")]
    [InlineData("10 S")]
    [InlineData("1X")]
    public void Rejects_Malformed(string header) => Assert.False(GrpcTimeout.TryParse(header, out _));

    [Theory]
    [InlineData(0.5)]
    [InlineData(100)]
    [InlineData(1234.5678)]
    [InlineData(86_400_000)]
    [InlineData(10_000_000_000_000)]
    public void Format_FitsEightDigits_AndNeverShortensTheTimeout(double ms)
    {
        var timeout = TimeSpan.FromMilliseconds(ms);
        var header = GrpcTimeout.Format(timeout);
        Assert.InRange(header.Length, 2, 9);
        Assert.True(GrpcTimeout.TryParse(header, out var parsed));
        Assert.True(parsed >= timeout, $"{header} parsed to {parsed}, shorter than {timeout}");
    }

    [Fact]
    public void Format_ExpiredTimeout_IsOneNanosecond() => Assert.Equal("1n", GrpcTimeout.Format(TimeSpan.FromSeconds(-3)));
}
