using ControlPlane.Grpc.Transcoding.Internal;

namespace ControlPlane.Grpc.Tests.Transcoding.Internal;

public sealed class WellKnownTypeJsonTests
{
    [Theory]
    [InlineData(0, 0, "1970-01-01T00:00:00Z")]
    [InlineData(1755426030, 100_000_000, "2025-08-17T10:20:30.100Z")]
    [InlineData(1755426030, 100_000, "2025-08-17T10:20:30.000100Z")]
    [InlineData(-62_135_596_800, 0, "0001-01-01T00:00:00Z")]
    [InlineData(253_402_300_799, 999_999_999, "9999-12-31T23:59:59.999999999Z")]
    public void Timestamp_IsRfc3339InUtc(long seconds, int nanos, string expected) =>
        Assert.Equal(expected, WellKnownTypeJson.FormatTimestamp(seconds, nanos));

    [Theory]
    [InlineData(-62_135_596_801, 0)]
    [InlineData(253_402_300_800, 0)]
    [InlineData(0, -1)]
    [InlineData(0, 1_000_000_000)]
    public void Timestamp_OutOfRange_Throws(long seconds, int nanos) =>
        Assert.Throws<InvalidOperationException>(() => WellKnownTypeJson.FormatTimestamp(seconds, nanos));

    [Theory]
    [InlineData(1, 500_000_000, "1.500s")]
    [InlineData(0, 0, "0s")]
    [InlineData(0, -1_000, "-0.000001s")]
    [InlineData(-3, -5, "-3.000000005s")]
    [InlineData(315_576_000_000, 0, "315576000000s")]
    public void Duration_IsSecondsWith0To9FractionalDigits(long seconds, int nanos, string expected) =>
        Assert.Equal(expected, WellKnownTypeJson.FormatDuration(seconds, nanos));

    [Theory]
    [InlineData(1, -1)]
    [InlineData(315_576_000_001, 0)]
    public void Duration_Invalid_Throws(long seconds, int nanos) =>
        Assert.Throws<InvalidOperationException>(() => WellKnownTypeJson.FormatDuration(seconds, nanos));
}
