// A 16-bit counter with synchronous reset, enable and a terminal-count flag.
module counter (
    input  wire        clk,
    input  wire        rst,
    input  wire        en,
    output reg  [15:0] count,
    output wire        tc
);
    always @(posedge clk) begin
        if (rst)
            count <= 16'd0;
        else if (en)
            count <= count + 16'd1;
    end
    assign tc = &count;
endmodule
