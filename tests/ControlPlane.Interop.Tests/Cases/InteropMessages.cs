using ControlPlane.Interop.V1;
using Google.Protobuf;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>Requests and checks shared by the interop cases (the same values as interop_client.py).</summary>
public static class InteropMessages
{
    public static readonly int[] RequestSizes = [27182, 8, 1828, 45904];
    public static readonly int[] ResponseSizes = [31415, 9, 2653, 58979];
    public const int LargeRequestSize = 271828;
    public const int LargeResponseSize = 314159;
    public const string SpecialStatusMessage = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n";
    public const string EchoInitialValue = "test_initial_metadata_value";
    public static readonly byte[] EchoTrailingValue = [0xab, 0xab, 0xab];

    public static Payload Zeros(int size) => new() { Body = ByteString.CopyFrom(new byte[size]) };

    public static StreamingOutputCallRequest OutputRequest(IEnumerable<int> responseSizes, int payloadSize = 0, EchoStatus? status = null)
    {
        var request = new StreamingOutputCallRequest { Payload = Zeros(payloadSize), ResponseStatus = status };
        request.ResponseParameters.AddRange(responseSizes.Select(s => new ResponseParameters { Size = s }));
        return request;
    }

    /// <summary>Asserts a payload of exactly <paramref name="size"/> zero bytes.</summary>
    public static void AssertZeros(Payload? payload, int size)
    {
        Assert.NotNull(payload);
        Assert.Equal(size, payload.Body.Length);
        Assert.True(payload.Body.Span.IndexOfAnyExcept((byte)0) < 0, "The payload is not zero-filled.");
    }
}
